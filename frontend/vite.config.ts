import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// One build, two pages: dist/index.html, which the bridge serves at "/", and
// dist/cockpit.html, which `make install` puts in Cockpit's package folder as index.html
// (it loads Cockpit's cockpit.js first). Asset paths are relative ("./assets/..."), so both
// work wherever they are served from.
// `npm run dev` proxies the bridge's endpoints to a bridge on 127.0.0.1:9180.
const bridge = process.env.PODBRIDGE_URL ?? "http://127.0.0.1:9180";

export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      input: { index: "index.html", cockpit: "cockpit.html" },
    },
  },
  server: {
    proxy: {
      "/ws": { target: bridge.replace(/^http/, "ws"), ws: true },
      "/login": bridge,
      "/logout": bridge,
      "/api": bridge,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
