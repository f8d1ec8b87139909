import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { appRoutes } from './app/routes.ts';
import { ProblemError, problemResponse } from './http/problem.ts';
import { adminRoutes } from './identity/admin.ts';
import { mobileRoutes } from './mobile/routes.ts';
import { homePage, notFoundPage, problemPage, wantsHtml } from './login/home.tsx';
import { loadPageAssets } from './login/assets.ts';
import { loginPages } from './login/routes.tsx';
import { sessionRoutes } from './session/routes.ts';
import { pairingRoutes } from './pairing/routes.ts';
import { notificationRoutes } from './notifications/routes.ts';
import { continueRoutes, oidcRoutes } from './oidc/routes.ts';
import { demoRoutes } from './demo/routes.ts';
import { consoleApp } from './console/app.tsx';
import { accountApp } from './account/app.tsx';
import { logEvent } from './lib/log.ts';
import { errorMetric } from './lib/metrics.ts';

export { LoginSession } from './session/LoginSession.ts';
export { BrowserSession } from './browser-session/BrowserSession.ts';
export { Pairing } from './pairing/Pairing.ts';

const app = new Hono<{ Bindings: Env }>();

app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, { 'Cache-Control': 'no-store' }));
// Browsers ask for /favicon.ico on pages that name no icon (the demo relying service).
app.get('/favicon.ico', (c) => c.redirect('/static/favicon.svg', 301));
app.route('/', homePage);
app.route('/', loginPages);
app.route('/login', sessionRoutes);
app.route('/admin', adminRoutes);
app.route('/api/mobile', mobileRoutes);
app.route('/api/pairings', pairingRoutes);
app.route('/api/notifications', notificationRoutes);
app.route('/key', appRoutes);
app.route('/login', continueRoutes);
app.route('/', oidcRoutes);
app.route('/demo', demoRoutes);
app.route('/console', consoleApp);
app.route('/account', accountApp);

app.notFound((c) =>
  wantsHtml(c)
    ? notFoundPage(c)
    : problemResponse(new ProblemError('not-found', 404, 'Not found', { detail: 'No such endpoint.' })),
);

app.onError((error, c) => {
  if (error instanceof ProblemError) {
    logEvent('error', { error: error.code, status: error.status, method: c.req.method, path: c.req.path });
    errorMetric(c.env, error.code, error.status);
    if (!wantsHtml(c)) return problemResponse(error);
    const page = problemPage(c, error);
    for (const [name, value] of Object.entries(error.headers)) page.headers.set(name, value);
    return page;
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    return problemResponse(
      new ProblemError(status === 413 ? 'payload-too-large' : 'bad-request', status, error.message || 'Bad request'),
    );
  }
  logEvent('error', { error: 'internal', status: 500, method: c.req.method, path: c.req.path, outcome: error instanceof Error ? error.name : 'unknown' }, 'error');
  errorMetric(c.env, 'internal', 500);
  console.error(`${c.req.method} ${c.req.path} failed`, error);
  return problemResponse(new ProblemError('internal', 500, 'Internal error'));
});

/**
 * The Worker's `fetch`: the Hono app above. Pages inline the built CSS and name the hashed script
 * (src/login/assets.ts), read once per isolate before the first request a browser navigates
 * with (`Accept: text/html`). That wait sits here rather than in an app-wide middleware so that
 * a route with a single handler takes Hono's direct path (no middleware chain per request).
 */
function fetch(request: Request, env: Env, ctx?: Parameters<typeof app.fetch>[2]): Response | Promise<Response> {
  if ((request.headers.get('Accept') ?? '').includes('text/html')) return loadPageAssets(env).then(() => app.fetch(request, env, ctx));
  return app.fetch(request, env, ctx);
}

export default { fetch } satisfies ExportedHandler<Env>;
