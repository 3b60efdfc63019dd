/**
 * The GraphQL client: urql over HTTP for queries and mutations, graphql-ws for subscriptions,
 * both to this origin's /graphql and both carrying the session token.
 *
 * graphql-ws re-subscribes after a dropped socket; syncOverviewChanged answers the current
 * overview first, so no stale "Sync in progress" survives a reconnect. Pages also refetch
 * their queries on `onReconnected` (events missed while offline).
 */
import { cacheExchange, createClient as createUrqlClient, fetchExchange, mapExchange, subscriptionExchange, type Client } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { getToken, GRAPHQL_PATH, sessionRejected } from "./session";

// Back-off between reconnection attempts: quick at first, at most 10 s.
const MAX_RETRY_WAIT_MS = 10_000;

const reconnectListeners = new Set<() => void>();
const connectionListeners = new Set<(online: boolean) => void>();

export function onReconnected(fn: () => void): () => void {
  reconnectListeners.add(fn);
  return () => reconnectListeners.delete(fn);
}

export function onSocketState(fn: (online: boolean) => void): () => void {
  connectionListeners.add(fn);
  return () => connectionListeners.delete(fn);
}

function wsUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export function createSocket(): WsClient {
  return createWsClient({
    url: wsUrl(),
    connectionParams: () => ({ Authorization: `Bearer ${getToken() ?? ""}` }),
    // Opened at once, not on the first subscription: the handshake overlaps the first
    // queries instead of following them (first load, bench/bench_web.py).
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const wait = Math.min(MAX_RETRY_WAIT_MS, 300 * 2 ** retries) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, wait));
    },
    on: {
      connected: (_socket, _payload, wasRetry) => {
        connectionListeners.forEach((fn) => fn(true));
        if (wasRetry) reconnectListeners.forEach((fn) => fn());
      },
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (code === 4401) sessionRejected();
        // 1000: the lazy socket closed because no page listens any more; not an outage.
        connectionListeners.forEach((fn) => fn(code === 1000));
      },
    },
  });
}

export function createClient(socket: WsClient): Client {
  return createUrqlClient({
    url: GRAPHQL_PATH,
    exchanges: [
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
            sessionRejected();
          }
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = socket.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: { Authorization: `Bearer ${getToken() ?? ""}` } }),
    preferGetMethod: false,
  });
}
