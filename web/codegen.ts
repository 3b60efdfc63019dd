// Typed operations from the committed SDL (../schema.graphql) and the .graphql documents:
// these documents are the app's whole use of the API (the trusted-documents allow-list).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/graphql/*.graphql"],
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
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
