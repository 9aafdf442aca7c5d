import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The bridge serves dist/ at "/" (index.html at "/", the hashed files under "/assets/").
// `npm run dev` proxies the bridge's endpoints to a bridge on 127.0.0.1:9180.
const bridge = process.env.PODBRIDGE_URL ?? "http://127.0.0.1:9180";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
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
