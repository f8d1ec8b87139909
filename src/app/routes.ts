import { Hono } from 'hono';
import { MANIFEST, SHELL_HEADERS, SHELL_HTML } from './shell.ts';
import { SERVICE_WORKER } from './sw.ts';

/**
 * The mobile key web app, mounted at `/key`:
 *
 * - `GET /key/` — home (this device's keys)
 * - `GET /key/enrol` — enrolment; the activation link is `/key/enrol#<activation code>`
 * - `GET /key/login` — a login; the QR and the page's same-device button open
 *   `/key/login#<login id>.<secret>` (the fragment never reaches the server)
 * - `GET /key/pair` — add a key: `/key/pair` starts a pairing from this device's key (the
 *   account's "Add a key" links here), `/key/pair#<pairing id>.<secret>` joins one as the new key
 * - `GET /key/sw.js` — the service worker (Web Push notifications), scope `/key/`
 * - `GET /key/manifest.webmanifest` — the Web App Manifest
 *
 * `GET /key` redirects to `/key/` so relative navigation and the manifest scope agree.
 * The script, style and icons are static assets under `/static/`.
 */
export const appRoutes = new Hono<{ Bindings: Env }>();

const shell = () => new Response(SHELL_HTML, { status: 200, headers: SHELL_HEADERS });

// Mounted at /key, '/' matches only `/key` (Hono merges the paths); `/key/` is matched below.
appRoutes.get('/', () => new Response(null, { status: 308, headers: { Location: '/key/', 'Cache-Control': 'no-store' } }));
appRoutes.get('/enrol', shell);
appRoutes.get('/login', shell);
appRoutes.get('/pair', shell);

appRoutes.get('/sw.js', () =>
  new Response(SERVICE_WORKER, {
    headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' },
  }),
);

appRoutes.get('/manifest.webmanifest', () =>
  new Response(JSON.stringify(MANIFEST), {
    headers: {
      'Content-Type': 'application/manifest+json; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    },
  }),
);

appRoutes.get('/*', async (c, next) => {
  if (new URL(c.req.url).pathname === '/key/') return shell();
  await next();
});
