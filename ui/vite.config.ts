/**
 * Builds the admin page (ui/) into dist/ui, served by the gateway at /ui on the admin listener.
 * Everything is bundled: the page fetches nothing but the gateway's own API at run time.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    // One small bundle; no source maps shipped to the admin listener.
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
});
