/**
 * The token: how the app gets it, swaps it for a short-lived one and renews it.
 *
 * Three ways in, in this order:
 *  1. a link with `#token=<JWT>` (halo-gateway demo prints one): the fragment never reaches a
 *     server or a Referer; the app removes it from the address bar at once and swaps the token
 *     for a short-lived session token (mutation issueSessionToken);
 *  2. a session token kept in this tab's sessionStorage (a reload keeps the session);
 *  3. embedded in the platform shell: the app posts `halo-gateway:ready` to its parent and
 *     waits for `{type: "halo-gateway:token", token}` from an origin the gateway lists in
 *     WEB_FRAME_ANCESTORS; the token is swapped like (1).
 * A session token is renewed when a quarter of its life is left. When renewal is refused (the
 * session reached the handed-over token's expiry), an embedded app asks the shell for a new
 * token (`halo-gateway:token-request`); a stand-alone one shows "session ended".
 */
import { createClient, fetchExchange } from "@urql/core";
import { IssueSessionTokenDocument } from "./gql/graphql";
import { clientHeaders, trustedDocumentsExchange } from "./trusted";

export type SessionStatus = "loading" | "ready" | "signed-out" | "forbidden" | "ended";
export interface SessionState {
  status: SessionStatus;
  token: string | null;
}

const STORAGE_KEY = "halo-gateway.session";
// Renew with this share of a session token's life left: room for a slow network or a
// sleeping laptop tab, without renewing constantly.
const RENEW_AT_REMAINING = 0.25;
// A renewal is never planned sooner than this (a clock far off must not cause a busy loop).
const MIN_RENEW_DELAY_MS = 5_000;
// How long an embedded app waits for the shell's first token before saying "sign in".
const SHELL_TOKEN_WAIT_MS = 10_000;

export const GRAPHQL_PATH = "/graphql";

let state: SessionState = { status: "loading", token: null };
const listeners = new Set<(s: SessionState) => void>();
let renewTimer: number | undefined;

function publish(next: SessionState): void {
  state = next;
  listeners.forEach((fn) => fn(state));
}

export function getSession(): SessionState {
  return state;
}

export function getToken(): string | null {
  return state.token;
}

export function subscribeSession(fn: (s: SessionState) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function shellOrigins(): string[] {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="halo-shell-origins"]');
  try {
    const parsed: unknown = JSON.parse(meta?.content ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === "string") : [];
  } catch {
    return []; // the placeholder of a page not served by the gateway (vite dev)
  }
}

const embedded = window.parent !== window;

function askShell(type: "halo-gateway:ready" | "halo-gateway:token-request"): void {
  for (const origin of shellOrigins()) {
    window.parent.postMessage({ type }, origin === "*" ? "*" : origin);
  }
}

interface Stored {
  token: string;
  expiresAt: number;
}

function store(s: Stored | null): void {
  try {
    if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled (a sandboxed frame): the session lives in memory only
  }
}

function stored(): Stored | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const s = raw ? (JSON.parse(raw) as Stored) : null;
    return s && s.expiresAt > Date.now() + MIN_RENEW_DELAY_MS ? s : null;
  } catch {
    return null;
  }
}

function schedule(s: Stored): void {
  window.clearTimeout(renewTimer);
  const left = s.expiresAt - Date.now();
  const delay = Math.max(MIN_RENEW_DELAY_MS, left * (1 - RENEW_AT_REMAINING));
  renewTimer = window.setTimeout(() => void swap(s.token, true), delay);
}

/** Trade `token` for a session token; on renewal, `token` is the current session token. */
async function swap(token: string, renewal = false): Promise<void> {
  const client = createClient({
    url: GRAPHQL_PATH,
    exchanges: [trustedDocumentsExchange(), fetchExchange],
    fetchOptions: { headers: clientHeaders(token) },
    preferGetMethod: false,
  });
  const result = await client.mutation(IssueSessionTokenDocument, {}).toPromise();
  const issued = result.data?.issueSessionToken;
  if (issued) {
    const s = { token: issued.token, expiresAt: Date.parse(issued.expiresAt) };
    store(s);
    schedule(s);
    publish({ status: "ready", token: s.token });
    return;
  }
  const code = result.error?.graphQLErrors[0]?.extensions?.code;
  if (code === "FORBIDDEN") {
    store(null);
    publish({ status: "forbidden", token: null });
  } else if (code === "SESSION_TOKENS_UNAVAILABLE") {
    // The gateway verifies the platform's own tokens and signs none: use it as it is.
    publish({ status: "ready", token });
  } else if (code === "UNAUTHENTICATED") {
    store(null);
    if (embedded && shellOrigins().length) askShell("halo-gateway:token-request");
    publish({ status: renewal ? "ended" : "signed-out", token: null });
  } else if (renewal) {
    // The network, not the token: try again shortly with the token we have.
    renewTimer = window.setTimeout(() => void swap(token, true), MIN_RENEW_DELAY_MS);
  } else {
    publish({ status: "signed-out", token: null });
  }
}

function listenToShell(): void {
  const origins = shellOrigins();
  window.addEventListener("message", (event: MessageEvent) => {
    if (!origins.includes(event.origin) && !origins.includes("*")) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type === "halo-gateway:token" && typeof data.token === "string") {
      void swap(data.token);
    }
  });
}

export async function startSession(): Promise<void> {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const handed = fragment.get("token");
  if (handed) {
    // Out of the address bar (and so out of history and bookmarks) before anything else.
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(history.state, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
  }
  if (embedded && shellOrigins().length) {
    listenToShell();
  }
  if (handed) {
    await swap(handed);
    return;
  }
  const kept = stored();
  if (kept) {
    schedule(kept);
    publish({ status: "ready", token: kept.token });
    return;
  }
  if (embedded && shellOrigins().length) {
    askShell("halo-gateway:ready");
    window.setTimeout(() => {
      if (state.status === "loading") publish({ status: "signed-out", token: null });
    }, SHELL_TOKEN_WAIT_MS);
    return;
  }
  publish({ status: "signed-out", token: null });
}

/** The API said UNAUTHENTICATED for a request made with our token: the session is over. */
export function sessionRejected(): void {
  if (state.status !== "ready") return;
  store(null);
  window.clearTimeout(renewTimer);
  if (embedded && shellOrigins().length) askShell("halo-gateway:token-request");
  publish({ status: "ended", token: null });
}
