// Typed operations from the committed SDL (../schema.graphql) and the .graphql documents:
// these documents are the app's whole use of the API (the trusted-documents allow-list).
// persistedDocuments: each document carries its sha256 (__meta__.hash, what the app sends
// instead of the query) and src/gql/persisted-documents.json lists them; the build copies it
// to ../schema/allowlist/web-app.json, the gateway's allow-list.
import { createHash } from "node:crypto";
import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

// The plain hex digest: the APQ protocol's sha256Hash (codegen's "sha256" adds a prefix).
const sha256 = (document: string) => createHash("sha256").update(document).digest("hex");

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/graphql/*.graphql"],
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: sha256 } },
      // urql's cache adds __typename to what it sends; the trusted documents must hold it
      // too, or the subscriptions' text would not match them and results would lack it.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", Date: "string" },
      },
    },
  },
  hooks: {},
};

export default config;
