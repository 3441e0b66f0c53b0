import { defineConfig } from 'vite';

// React's JSX runs through Vite's own transform (automatic runtime, from tsconfig's "jsx").
export default defineConfig({
  root: import.meta.dirname,
  build: { outDir: 'dist', emptyOutDir: true },
  server: { host: '127.0.0.1', port: 5173 },
});
