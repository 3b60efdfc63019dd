// The graphql-http audit suite (GraphQL over HTTP conformance) against a live gateway.
//
//   node audit.mjs <graphql url>
//
// Prints a JSON list of { id, name, status: "ok" | "warn" | "error", reason } — one per audit,
// MUST failures are "error", SHOULD failures "warn". tests/api/test_graphql_over_http.py
// asserts on it.
import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
const results = await auditServer({ url });
const out = [];
for (const result of results) {
  out.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
    response:
      result.status === "ok"
        ? null
        : { status: result.response.status, body: await result.response.text() },
  });
}
process.stdout.write(JSON.stringify(out));
