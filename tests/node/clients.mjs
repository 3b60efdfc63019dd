// Real GraphQL clients against a live gateway, as a frontend would set them up.
//
//   node clients.mjs <graphql url> <token>
//
// Runs Apollo Client 4 (HttpLink, PersistedQueryLink, BatchHttpLink) and urql (fetchExchange,
// persistedExchange), records every HTTP exchange each one made (method, request body,
// status, content-type) and prints one JSON object: { scenario: { result…, exchanges } }.
// Persisted-query scenarios run two fresh clients one after the other (the first registers,
// the second only sends the hash) and one whose hash function lies.
// tests/api/test_clients.py asserts on it.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { BatchHttpLink } from "@apollo/client/link/batch-http";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, cacheExchange, fetchExchange, gql as urqlGql } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const VIEWER = "query Viewer { viewer { sellerId } }";
const UNKNOWN_FIELD = "query Broken { viewer { nope } }";
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
// A hash function that lies: never the sha256 of the query it is asked about.
const wrongSha256 = (text) => sha256(`not ${text}`);
// One query per persisted scenario: each registers its own document.
const persistedQuery = (name) => `query ${name} { viewer { sellerId } }`;

// A fetch that remembers what went over the wire.
function recordingFetch(exchanges) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    let body = init.body;
    try {
      body = JSON.parse(body);
    } catch {
      // GET: the parameters are in the URL
    }
    exchanges.push({
      method: init.method || "GET",
      url: String(input),
      accept: new Headers(init.headers).get("accept"),
      body: body ?? null,
      status: response.status,
      contentType: response.headers.get("content-type"),
    });
    return response;
  };
}

const auth = { authorization: `Bearer ${token}` };

function apollo(link) {
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

function errorsOf(error) {
  // Apollo Client 4: CombinedGraphQLErrors (.errors) or ServerError/other (.message)
  if (!error) return null;
  if (Array.isArray(error.errors)) {
    return error.errors.map((e) => ({ message: e.message, code: e.extensions?.code }));
  }
  return [{ message: error.message, code: null, name: error.name }];
}

async function apolloQuery(makeLink, query, headers = auth) {
  const exchanges = [];
  const client = apollo(makeLink(recordingFetch(exchanges), headers));
  const result = await client.query({ query: gql(query), errorPolicy: "all", fetchPolicy: "no-cache" });
  return { data: result.data ?? null, errors: errorsOf(result.error), exchanges };
}

const http = (fetchImpl, headers) => new HttpLink({ uri: url, fetch: fetchImpl, headers });
const persisted = (fetchImpl, headers) =>
  ApolloLink.from([new PersistedQueryLink({ sha256 }), http(fetchImpl, headers)]);
const persistedGet = (fetchImpl, headers) =>
  ApolloLink.from([
    new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
    http(fetchImpl, headers),
  ]);
const persistedLying = (fetchImpl, headers) =>
  ApolloLink.from([new PersistedQueryLink({ sha256: wrongSha256 }), http(fetchImpl, headers)]);

// Two fresh clients in turn: the first registers the query, the second finds it.
async function twice(run) {
  const first = await run();
  const second = await run();
  return { first, second };
}

async function apolloBatch() {
  const exchanges = [];
  const link = new BatchHttpLink({
    uri: url,
    fetch: recordingFetch(exchanges),
    headers: auth,
    batchMax: 10,
    batchInterval: 20,
  });
  const client = apollo(link);
  const queries = [
    "query A { viewer { sellerId } }",
    "query B { __typename }",
    "query C { viewer { nope } }",
  ];
  const results = await Promise.all(
    queries.map((q) => client.query({ query: gql(q), errorPolicy: "all", fetchPolicy: "no-cache" })),
  );
  return {
    results: results.map((r) => ({ data: r.data ?? null, errors: errorsOf(r.error) })),
    exchanges,
  };
}

function urqlClient(exchangesList, extra = []) {
  return new Client({
    url,
    exchanges: [cacheExchange, ...extra, fetchExchange],
    fetch: recordingFetch(exchangesList),
    fetchOptions: { headers: auth },
    requestPolicy: "network-only",
  });
}

function urqlErrors(error) {
  if (!error) return null;
  if (error.graphQLErrors?.length) {
    return error.graphQLErrors.map((e) => ({ message: e.message, code: e.extensions?.code }));
  }
  return [{ message: error.message, code: null, network: true }];
}

async function urqlQuery(query, extra = []) {
  const exchanges = [];
  const client = urqlClient(exchanges, extra);
  const result = await client.query(urqlGql(query), {}).toPromise();
  return { data: result.data ?? null, errors: urqlErrors(result.error), exchanges };
}

async function urqlMutation(query) {
  const exchanges = [];
  const client = urqlClient(exchanges);
  const result = await client.mutation(urqlGql(query), {}).toPromise();
  return { data: result.data ?? null, errors: urqlErrors(result.error), exchanges };
}

// The set-up README "For frontend teams" shows, verbatim but for the URLs, fetch and ws.
async function apolloAsInTheReadme() {
  const exchanges = [];
  const platformToken = async () => token;
  const http = ApolloLink.from([
    new SetContextLink(async (prev) => ({
      headers: { ...prev.headers, authorization: `Bearer ${await platformToken()}` },
    })),
    new HttpLink({ uri: url, fetch: recordingFetch(exchanges) }),
  ]);
  const wsClient = createClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: async () => ({ Authorization: `Bearer ${await platformToken()}` }),
  });
  const ws = new GraphQLWsLink(wsClient);
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.split(({ operationType }) => operationType === "subscription", ws, http),
  });
  const result = await client.query({ query: gql(VIEWER), fetchPolicy: "no-cache" });
  await wsClient.dispose();
  return { data: result.data ?? null, errors: errorsOf(result.error), exchanges };
}

const out = {
  apolloReadme: await apolloAsInTheReadme(),
  apolloQuery: await apolloQuery(http, VIEWER),
  apolloUnauthenticated: await apolloQuery(http, VIEWER, {}),
  apolloValidation: await apolloQuery(http, UNKNOWN_FIELD),
  apolloPersisted: await twice(() => apolloQuery(persisted, persistedQuery("ApolloPost"))),
  apolloPersistedGet: await twice(() => apolloQuery(persistedGet, persistedQuery("ApolloGet"))),
  apolloPersistedLying: await twice(() =>
    apolloQuery(persistedLying, persistedQuery("ApolloLying")),
  ),
  apolloBatch: await apolloBatch(),
  urqlQuery: await urqlQuery(VIEWER),
  urqlValidation: await urqlQuery(UNKNOWN_FIELD),
  urqlPersisted: await twice(() =>
    urqlQuery(persistedQuery("UrqlPost"), [
      persistedExchange({ preferGetForPersistedQueries: false }),
    ]),
  ),
  urqlPersistedGet: await twice(() =>
    urqlQuery(persistedQuery("UrqlGet"), [
      persistedExchange({ preferGetForPersistedQueries: true }),
    ]),
  ),
  urqlPersistedLying: await twice(() =>
    urqlQuery(persistedQuery("UrqlLying"), [
      persistedExchange({
        preferGetForPersistedQueries: false,
        generateHash: async (query) => wrongSha256(query),
      }),
    ]),
  ),
  urqlMutation: await urqlMutation("mutation { setSyncUnitPrices(enabled: true) { message } }"),
};
process.stdout.write(JSON.stringify(out));
