import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Builds the browser code (hosted login page, mobile key web app) into the Worker's static
// assets. The Worker renders the HTML itself (server-side, QR included), so there is no
// index.html: each entry is a script the rendered page loads from /static/.
export default defineConfig({
  plugins: [preact()],
  publicDir: 'client/public',
  build: {
    outDir: 'dist/client',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        login: 'client/login/main.tsx',
        app: 'client/app/main.tsx',
        console: 'client/console/main.ts',
      },
      output: {
        entryFileNames: 'static/[name].js',
        chunkFileNames: 'static/[name]-[hash].js',
        assetFileNames: 'static/[name][extname]',
      },
    },
  },
});
