// One subscription over each transport the gateway serves, with the clients a frontend uses:
//
//   node streams.mjs <graphql url> <token> <query> <variables JSON> <transports> <stop JSON>
//
// transports: comma-separated of ws (graphql-ws), sse (graphql-sse, distinct connections
// mode) and multipart (Apollo Client 4's HttpLink: multipart subscriptions). Each collects the
// events it receives until one matches <stop> ({"field": "syncEvents", "key": "phase",
// "values": ["COMPLETED"]}), or its stream ends or fails; then prints one JSON object:
// { transport: { events: [data…], errors: [{message, code}…], ended: "stop"|"complete"|"error" } }.
// Apollo adds __typename to selections; it is removed so every transport's events compare.
// tests/api/test_streaming.py starts it, waits for its subscribers on /metrics, then syncs.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query, variablesJson, transportsList, stopJson] = process.argv.slice(2);
const variables = JSON.parse(variablesJson || "{}");
const stop = JSON.parse(stopJson || "null");
const authorization = `Bearer ${token}`;

function withoutTypename(value) {
  if (Array.isArray(value)) return value.map(withoutTypename);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "__typename")
        .map(([key, inner]) => [key, withoutTypename(inner)]),
    );
  }
  return value;
}

const isStop = (data) =>
  stop !== null && data?.[stop.field] && stop.values.includes(data[stop.field][stop.key]);

const codes = (errors) =>
  (errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.code ?? null }));

// Runs `start(sink)` (which returns a cancel function) until the stop event or the end.
function collect(start) {
  return new Promise((resolve) => {
    const out = { events: [], errors: [], ended: null };
    let cancel = () => {};
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      out.ended = how;
      try {
        cancel();
      } catch {
        // already gone
      }
      resolve(out);
    };
    cancel = start({
      next(result) {
        if (result.errors?.length) out.errors.push(...codes(result.errors));
        if (result.data) out.events.push(withoutTypename(result.data));
        if (isStop(result.data)) finish("stop");
      },
      error(error) {
        const errors = error?.errors ?? (Array.isArray(error) ? error : null);
        out.errors.push(...(errors ? codes(errors) : [{ message: String(error?.message ?? error), code: null }]));
        finish("error");
      },
      complete() {
        finish("complete");
      },
    });
  });
}

// graphql-ws and graphql-sse clients share one interface: subscribe(payload, sink) → stop.
const viaClient = (client) =>
  collect((sink) => {
    const unsubscribe = client.subscribe({ query, variables }, sink);
    return () => {
      unsubscribe();
      client.dispose();
    };
  });

const transports = {
  ws: () =>
    viaClient(
      createWsClient({
        url: url.replace(/^http/, "ws"),
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: authorization },
        retryAttempts: 0,
      }),
    ),
  sse: () =>
    viaClient(
      createSseClient({
        url,
        singleConnection: false, // distinct connections mode
        headers: { Authorization: authorization },
        retryAttempts: 0,
      }),
    ),
  multipart() {
    const client = new ApolloClient({
      link: new HttpLink({ uri: url, headers: { authorization } }),
      cache: new InMemoryCache(),
    });
    return collect((sink) => {
      const subscription = client.subscribe({ query: gql(query), variables }).subscribe({
        next: (result) =>
          sink.next({ data: result.data, errors: result.error?.errors ?? (result.error ? [result.error] : []) }),
        error: (error) => sink.error(error),
        complete: () => sink.complete(),
      });
      return () => {
        subscription.unsubscribe();
        client.stop();
      };
    });
  },
};

const names = transportsList.split(",");
const results = await Promise.all(names.map((name) => transports[name]()));
process.stdout.write(JSON.stringify(Object.fromEntries(names.map((name, i) => [name, results[i]]))));
process.exit(0);
