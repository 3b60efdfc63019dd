// Builds the app into the Python package (gateway/web_static/) and records what it was built
// from: manifest.json holds a SHA-256 over the build's inputs, which tests/web/test_build.py
// recomputes (no Node needed) to fail when the committed build is stale.
//
//   npm ci && npm run build        (from web/)
//
// Steps: graphql-codegen (typed operations from ../schema.graphql, and the trusted documents
// copied to schema/allowlist/web-app.json), tsc, vite build, then the GraphiQL page and its
// scripts copied from npm packages (no CDN at run time).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(web);
const out = join(root, "gateway", "web_static");

// What the build reads. Keep in step with INPUTS in tests/web/test_build.py.
const INPUT_FILES = [
  "schema.graphql",
  "web/package.json",
  "web/package-lock.json",
  "web/index.html",
  "web/tsconfig.json",
  "web/vite.config.ts",
  "web/codegen.ts",
];
const INPUT_DIRS = ["web/src", "web/graphiql", "web/scripts"];

// The IDE's scripts and styles, from node_modules, under the names the page asks for.
const GRAPHIQL_VENDOR = {
  "react.production.min.js": "react/umd/react.production.min.js",
  "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
  "graphiql.min.js": "graphiql/graphiql.min.js",
  "graphiql.min.css": "graphiql/graphiql.min.css",
  "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
  "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
};

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const posix = (path) => path.split(sep).join("/");

export function inputsDigest() {
  const files = [
    ...INPUT_FILES,
    ...INPUT_DIRS.flatMap((d) => walk(join(root, d)).map((p) => posix(relative(root, p)))),
  ].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    const content = readFileSync(join(root, file));
    hash.update(`${file}\n${content.length}\n`);
    hash.update(content);
  }
  return { digest: hash.digest("hex"), files };
}

function run(command, args) {
  execFileSync(command, args, { cwd: web, stdio: "inherit" });
}

const bin = (name) => join(web, "node_modules", ".bin", name);

run(bin("graphql-codegen"), ["--config", "codegen.ts", "--silent"]);
// The gateway's allow-list: what this app sends is all a browser session may run once
// TRUSTED_DOCUMENTS=enforce (tests/api/test_trusted_documents.py checks it is current).
copyFileSync(
  join(web, "src", "gql", "persisted-documents.json"),
  join(root, "schema", "allowlist", "web-app.json"),
);
run(bin("tsc"), ["--noEmit"]);
run(bin("vite"), ["build", "--logLevel", "warn"]);

mkdirSync(join(out, "graphiql"), { recursive: true });
for (const name of readdirSync(join(web, "graphiql"))) {
  copyFileSync(join(web, "graphiql", name), join(out, "graphiql", name));
}
for (const [name, source] of Object.entries(GRAPHIQL_VENDOR)) {
  copyFileSync(join(web, "node_modules", source), join(out, "graphiql", name));
}

const { digest, files } = inputsDigest();
const outputs = {};
for (const path of walk(out).sort()) {
  const rel = posix(relative(out, path));
  if (rel === "manifest.json") continue;
  const content = readFileSync(path);
  outputs[rel] = {
    sha256: createHash("sha256").update(content).digest("hex"),
    bytes: content.length,
    gzipBytes: gzipSync(content, { level: 9 }).length,
  };
}
const manifest = { inputsSha256: digest, inputs: files.length, outputs };
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`built gateway/web_static (${Object.keys(outputs).length} files) from ${files.length} inputs, ${digest.slice(0, 12)}`);
