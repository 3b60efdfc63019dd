// The app is built into the Python package (gateway/web_static), served by gateway/web.py.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../gateway/web_static",
    emptyOutDir: true,
    // Chromium, Firefox and Safari all support modulepreload: no inline polyfill, so the
    // page's CSP can stay script-src 'self'.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
    // Icons are inline SVG in the components; nothing should become a data: URL.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev`: the gateway (halo-gateway demo) answers the API on :8000.
    proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true } },
  },
});
