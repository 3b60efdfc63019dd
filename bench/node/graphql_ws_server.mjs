// The baseline of bench/bench_subscribers.py: what a team would pick instead of the gateway for
// live events — graphql-ws 6 on Node (ws 8, graphql-js 16) serving the same `syncEvents`
// subscription from the same Redis channel (`{namespace}:events:{seller}`, one PSUBSCRIBE for
// the process, like the gateway). graphql-ws executes the subscription's selection per socket
// and per event and JSON-encodes each result per socket: that is the library's design.
//
//   node graphql_ws_server.mjs <port> <redis url> <namespace> <jwt secret>
//
// The token of connection_init is checked (HS256 signature and expiry), once per socket.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { buildSchema, GraphQLScalarType } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import Redis from "ioredis";
import { WebSocketServer } from "ws";

const [port, redisUrl, namespace, secret] = process.argv.slice(2);
const prefix = `${namespace}:events:`;

const schema = buildSchema(`
  scalar DateTime
  enum SyncPhase { QUEUED STARTED PROGRESS COMPLETED FAILED CANCELLED RESYNC }
  type SyncEvent {
    runId: ID!
    kind: String!
    scope: String!
    phase: SyncPhase!
    organizationId: ID
    processed: Int!
    total: Int!
    created: Int!
    updated: Int!
    skipped: Int!
    failed: Int!
    message: String
    at: DateTime!
    sequence: Int!
    epoch: String!
  }
  type Query { ok: Boolean }
  type Subscription { syncEvents(kind: String): SyncEvent! }
`);
Object.assign(schema.getType("DateTime"), new GraphQLScalarType({ name: "DateTime", serialize: (v) => v }));

// Subscribers by seller: each one an async iterator with its own queue.
const bySeller = new Map();

function subscribe(seller, kind) {
  const queue = [];
  let wake = null;
  const sub = { kind, push: (event) => { queue.push(event); if (wake) { wake(); wake = null; } } };
  if (!bySeller.has(seller)) bySeller.set(seller, new Set());
  bySeller.get(seller).add(sub);
  const leave = () => bySeller.get(seller)?.delete(sub);
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      while (queue.length === 0) await new Promise((resolve) => { wake = resolve; });
      return { value: { syncEvents: queue.shift() }, done: false };
    },
    async return() { leave(); return { value: undefined, done: true }; },
  };
}

// graphql-js calls a root value's function as the field's subscriber: (args, context, info).
const root = { syncEvents: (args, ctx) => subscribe(ctx.extra.seller, args.kind ?? null) };

function sellerOf(token) {
  const [h, p, s] = String(token ?? "").split(".");
  if (!s) return null;
  const mac = createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url");
  if (mac.length !== s.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(s))) return null;
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  if (claims.exp && claims.exp * 1000 < Date.now()) return null;
  return claims.seller_id ?? null;
}

const redis = new Redis(redisUrl);
await redis.psubscribe(`${prefix}*`);
redis.on("pmessageBuffer", (_pattern, _channel, message) => {
  const e = JSON.parse(message.toString());
  const subs = bySeller.get(e.seller_id);
  if (!subs) return;
  const event = {
    runId: String(e.run_id), kind: e.kind, scope: e.scope, phase: e.phase,
    organizationId: e.organization_id, processed: e.processed, total: e.total,
    created: e.created, updated: e.updated, skipped: e.skipped, failed: e.failed,
    message: e.message, at: e.at, sequence: e.sequence, epoch: e.epoch,
  };
  for (const sub of subs) if (sub.kind === null || sub.kind === event.kind) sub.push(event);
});

const server = createServer((_req, res) => { res.writeHead(200); res.end("ok"); });
const wss = new WebSocketServer({ server, path: "/graphql" });
useServer(
  {
    schema,
    roots: { subscription: root },
    context: (ctx) => ctx,
    onConnect: (ctx) => {
      const seller = sellerOf(ctx.connectionParams?.token);
      if (!seller) return false;
      ctx.extra.seller = seller;
      return true;
    },
  },
  wss,
);
server.listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
