import { defineConfig } from 'vite';

// Relative asset URLs: the API serves the bundle under /graphiql/, with nothing from a CDN.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  logLevel: 'error',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 8000 },
});
