import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

// Builds the browser code (hosted login page, mobile key web app) into the Worker's static
// assets. The Worker renders the HTML itself (server-side, QR included), so there is no
// index.html: each entry is a script the rendered page loads from /static/.
//
// The hosted login page's files carry a content hash in their names and are served
// `immutable` (rules appended to `_headers`); the Worker learns their names, and the page's
// CSS to inline, from `static/login-assets.json` (src/login/assets.ts, docs/performance.md).
// The web app's and the console's entries keep fixed names (their shells name them).

const LOGIN_ENTRY = 'login';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Gives the login script its own copy of what it imports from `client/shared/` (the QR path
 * drawing, which the web app's QR component uses too): a module two entries share would
 * otherwise become a chunk of its own, a second request for the page.
 */
function loginOwnCopies(): Plugin {
  const COPY = '?login-copy';
  return {
    name: 'mobile-key-login-own-copies',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!importer?.includes('/client/login/') || !source.includes('/shared/')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved && !resolved.external ? `${resolved.id}${COPY}` : null;
    },
  };
}

/** Emits login-assets.json and the `_headers` rules for every hashed file of the build. */
function loginAssets(): Plugin {
  let publicHeaders = '';
  let icon = '';
  return {
    name: 'mobile-key-login-assets',
    async buildStart() {
      const { readFile } = await import('node:fs/promises');
      publicHeaders = await readFile(new URL('client/public/_headers', import.meta.url), 'utf8');
      // The pages' icon inline (a data: URL), so the page loads no unhashed file.
      icon = `data:image/svg+xml,${encodeURIComponent((await readFile(new URL('client/public/static/favicon.svg', import.meta.url), 'utf8')).trim())}`;
    },
    generateBundle(_options, bundle) {
      const entry = Object.values(bundle).find((f) => f.type === 'chunk' && f.isEntry && f.name === LOGIN_ENTRY);
      if (!entry || entry.type !== 'chunk') throw new Error('no login entry in the bundle');
      const cssName = [...(entry.viteMetadata?.importedCss ?? [])][0];
      const css = cssName ? bundle[cssName] : undefined;
      const assets = {
        script: `/${entry.fileName}`,
        css: css && css.type === 'asset' ? String(css.source) : null,
        cssFile: cssName ? `/${cssName}` : null,
        icon,
      };
      this.emitFile({ type: 'asset', fileName: 'static/login-assets.json', source: `${JSON.stringify(assets)}\n` });
      const hashed = Object.keys(bundle).filter((name) => /-[0-9A-Za-z_-]{8}\.\w+$/.test(name));
      const rules = hashed.map((name) => `/${name}\n  ! Cache-Control\n  Cache-Control: ${IMMUTABLE}\n`).join('');
      // The public _headers first (its /static/* rule), then one rule per hashed file, which
      // replaces that rule's Cache-Control.
      this.emitFile({ type: 'asset', fileName: '_headers', source: `${publicHeaders.trimEnd()}\n\n# Hashed build output (vite.config.ts)\n${rules}` });
    },
  };
}

export default defineConfig({
  plugins: [loginOwnCopies(), preact(), loginAssets()],
  publicDir: 'client/public',
  build: {
    outDir: 'dist/client',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        [LOGIN_ENTRY]: 'client/login/main.ts',
        app: 'client/app/main.tsx',
        console: 'client/console/main.ts',
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === LOGIN_ENTRY ? 'static/[name]-[hash].js' : 'static/[name].js'),
        chunkFileNames: 'static/[name]-[hash].js',
        assetFileNames: (asset) =>
          asset.names?.some((n) => n.startsWith(`${LOGIN_ENTRY}.`)) ? 'static/[name]-[hash][extname]' : 'static/[name][extname]',
      },
    },
  },
});
