// The graphql-ws reference client against a live gateway: token expiry and the refresh a page does.
//
//   node ws_client.mjs <ws url> <short-lived token> <fresh token>
//
// The client's connectionParams is a function, called for every connection, the way a page
// hands over its current token. The first connection uses a token that expires while the
// subscription is open; the gateway closes the socket with 4401, the subscription errors,
// and subscribing again connects with the fresh token. Prints one JSON object.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, shortToken, freshToken] = process.argv.slice(2);
const tokens = [shortToken, freshToken];
const events = [];

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 0,
  connectionParams: async () => {
    const token = tokens.shift();
    events.push({ event: "connectionParams", tokenNumber: 2 - tokens.length });
    return { Authorization: `Bearer ${token}` };
  },
  on: {
    connected: () => events.push({ event: "connected" }),
    closed: (e) => events.push({ event: "closed", code: e.code, reason: e.reason }),
  },
});

const SUBSCRIPTION = "subscription { syncEvents { runId phase } }";

function subscribeUntilError() {
  return new Promise((resolve) => {
    client.subscribe(
      { query: SUBSCRIPTION },
      {
        next: (value) => events.push({ event: "next", value }),
        error: (err) => resolve({ code: err.code ?? null, reason: err.reason ?? String(err) }),
        complete: () => resolve({ complete: true }),
      },
    );
  });
}

const firstError = await subscribeUntilError();
// A page reacts to 4401 by subscribing again: connectionParams fetches a fresh token.
// The timer only bounds a hang; it is cleared once answered, or node would wait it out.
let deadline;
const second = await new Promise((resolve) => {
  const unsubscribe = client.subscribe(
    { query: "query { viewer { sellerId } }" },
    {
      next: (value) => resolve({ value }),
      error: (err) => resolve({ error: { code: err.code ?? null, reason: err.reason ?? String(err) } }),
      complete: () => {},
    },
  );
  deadline = setTimeout(() => {
    unsubscribe();
    resolve({ timeout: true });
  }, 60000);
});
clearTimeout(deadline);
await client.dispose();
process.stdout.write(JSON.stringify({ firstError, second, events }));
