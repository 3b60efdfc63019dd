/**
 * The GraphQL client: urql over HTTP for queries and mutations, graphql-ws for subscriptions,
 * both to this origin's /graphql and both carrying the session token.
 *
 * Queries and mutations travel as trusted documents (./trusted.ts).
 *
 * graphql-ws re-subscribes after a dropped socket; syncOverviewChanged answers the current
 * overview first, so no stale "Sync in progress" survives a reconnect. A subscription whose
 * document declares `$afterSequence` and `$epoch` (SyncEvents) resumes: each re-subscription
 * carries the sequence and epoch of the last event received, and the gateway replays what
 * was missed (or says RESYNC when that is gone), so a run's progress stays exact across a
 * reconnect. Pages also refetch their queries on `onReconnected`.
 */
import { cacheExchange, createClient as createUrqlClient, fetchExchange, mapExchange, subscriptionExchange, type Client } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { getToken, GRAPHQL_PATH, sessionRejected } from "./session";
import { clientHeaders, trustedDocumentsExchange } from "./trusted";

// The close reason the gateway gives when a socket's token expires (schema/websocket.py).
const TOKEN_EXPIRED = "Token expired";
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
    // A socket closed as "Token expired" is re-opened by the subscriptions themselves.
    onNonLazyError: () => undefined,
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
        const { code, reason } = (event as CloseEvent | undefined) ?? {};
        // "Token expired": the gateway closes a socket when the token it was opened with
        // expires; the app has renewed its token meanwhile and re-subscribes (below). Any
        // other 4401 means the current token was refused: the session is over.
        if (code === 4401 && reason !== TOKEN_EXPIRED) sessionRejected();
        // 1000: the lazy socket closed because no page listens any more; not an outage.
        connectionListeners.forEach((fn) => fn(code === 1000));
      },
    },
  });
}

/** Where a resumable subscription's events stand: the root field's `sequence` and `epoch`. */
function resumePoint(value: unknown): { afterSequence: number; epoch: string } | null {
  const data = (value as { data?: Record<string, unknown> } | undefined)?.data;
  const root = data ? (Object.values(data)[0] as { sequence?: unknown; epoch?: unknown } | undefined) : undefined;
  if (typeof root?.sequence !== "number" || typeof root.epoch !== "string") return null;
  return { afterSequence: root.sequence, epoch: root.epoch };
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
      trustedDocumentsExchange(),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          // graphql-ws sends this payload object again on every re-subscription: updating
          // its variables makes the next one resume after the last event received.
          const resumable = /\$afterSequence\b/.test(input.query) && /\$epoch\b/.test(input.query);
          return {
            subscribe(sink) {
              let active = true;
              let unsubscribe = () => {};
              const start = () => {
                unsubscribe = socket.subscribe(input, {
                  next: (value) => {
                    const point = resumable ? resumePoint(value) : null;
                    if (point) input.variables = { ...input.variables, ...point };
                    sink.next(value as Parameters<typeof sink.next>[0]);
                  },
                  complete: () => sink.complete(),
                  error: (error) => {
                    const close = error as CloseEvent;
                    if (active && close?.code === 4401 && close.reason === TOKEN_EXPIRED && getToken()) {
                      // graphql-ws does not retry 4401; a new socket opens with the renewed token.
                      start();
                      reconnectListeners.forEach((fn) => fn());
                      return;
                    }
                    sink.error(error);
                  },
                });
              };
              start();
              return {
                unsubscribe: () => {
                  active = false;
                  unsubscribe();
                },
              };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: clientHeaders(getToken()) }),
    preferGetMethod: false,
  });
}
