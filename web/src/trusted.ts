/**
 * Trusted documents: the app sends each query's and mutation's sha256 (computed at build time
 * by graphql-codegen, `__meta__.hash`), not its text. That is what the gateway allows a browser
 * session once TRUSTED_DOCUMENTS=enforce, and the hashes are the gateway's allow-list
 * (schema/allowlist/web-app.json, written by the same build), so a built app never sends
 * text. Only a gateway that does not enforce the list and does not know a hash (a document
 * edited under `npm run dev` before the allow-list was rebuilt) answers PersistedQueryNotFound,
 * and then the text follows with its hash (registered, and logged as untrusted); an enforcing
 * gateway answers PERSISTED_QUERY_NOT_IN_LIST instead, which is an error, never a retry.
 * Subscriptions go over the websocket as text, which the gateway matches against the same
 * documents.
 */
import { persistedExchange } from "@urql/exchange-persisted";

// Who the gateway's per-operation metrics say sent an operation (apollographql-client-name).
export const CLIENT_NAME = "halo-gateway-web";

export function trustedDocumentsExchange() {
  return persistedExchange({
    enforcePersistedQueries: false,
    enableForMutation: true,
    preferGetForPersistedQueries: false,
    generateHash: async (_query, document) =>
      (document as { __meta__?: { hash?: string } }).__meta__?.hash ?? "",
  });
}

export function clientHeaders(token: string | null): Record<string, string> {
  return { Authorization: `Bearer ${token ?? ""}`, "apollographql-client-name": CLIENT_NAME };
}
