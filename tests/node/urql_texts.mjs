// What urql puts on the wire for each of the web app's documents:
//
//   node urql_texts.mjs <path of web/src/gql/graphql.ts>
//
// Reads the documents graphql-codegen generated (JSON object literals in graphql.ts), passes
// each through urql's own formatDocument (its cache adds __typename) and stringifyDocument,
// and prints { OperationName: { text, hash } }: the text goes over the websocket, the hash
// (__meta__.hash) over HTTP. tests/api/test_trusted_documents.py checks both are trusted.
import { readFileSync } from "node:fs";

import { formatDocument, stringifyDocument } from "@urql/core";

const source = readFileSync(process.argv[2], "utf8");
const out = {};
for (const match of source.matchAll(/^export const (\w+)Document = (\{.*\}) as unknown as /gm)) {
  const document = formatDocument(JSON.parse(match[2]));
  out[match[1]] = { text: stringifyDocument(document), hash: document.__meta__?.hash ?? null };
}
process.stdout.write(JSON.stringify(out));
