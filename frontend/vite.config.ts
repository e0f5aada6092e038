import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// The built app goes into the Python package, served by vigil under /public/.
const outDir = fileURLToPath(new URL("../src/vigil/web/static", import.meta.url));

export default defineConfig({
  base: "/public/",
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1000,
    target: "es2020",
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:3000",
      "/login": { target: "http://127.0.0.1:3000", bypass: (req) => (req.method === "GET" ? "/index.html" : undefined) },
      "/logout": "http://127.0.0.1:3000",
    },
  },
});
