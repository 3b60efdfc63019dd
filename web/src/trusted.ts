/**
 * Trusted documents: the app sends each query's and mutation's sha256 (computed at build time
 * by graphql-codegen, `__meta__.hash`), never its text. That is what the gateway allows a
 * browser session once TRUSTED_DOCUMENTS=enforce, and the hashes are the gateway's allow-list
 * (schema/allowlist/web-app.json, written by the build). An unknown hash is an error, not a
 * retry with the text: the gateway and the app are built from the same documents.
 * Subscriptions go over the websocket as text, which the gateway matches against the same
 * documents.
 */
import { persistedExchange } from "@urql/exchange-persisted";

// Who the gateway's per-operation metrics say sent an operation (apollographql-client-name).
export const CLIENT_NAME = "halo-gateway-web";

export function trustedDocumentsExchange() {
  return persistedExchange({
    enforcePersistedQueries: true,
    enableForMutation: true,
    preferGetForPersistedQueries: false,
    generateHash: async (_query, document) =>
      (document as { __meta__?: { hash?: string } }).__meta__?.hash ?? "",
  });
}

export function clientHeaders(token: string | null): Record<string, string> {
  return { Authorization: `Bearer ${token ?? ""}`, "apollographql-client-name": CLIENT_NAME };
}
