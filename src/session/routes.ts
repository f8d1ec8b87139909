import { Hono, type Context } from 'hono';
import { ProblemError } from '../http/problem.ts';
import { BINDING_HEADER } from './LoginSession.ts';
import { bindingHashFrom } from './binding.ts';
import { drawFrames } from './rotation.ts';
import { loginStub, unwrap } from './stub.ts';

/**
 * Page-facing login endpoints, mounted at `/login`. All of them require the binding cookie of
 * the browser that started the login.
 *
 * - `GET /login/:id/state` — the current snapshot (fallback where WebSockets are blocked).
 * - `GET /login/:id/ws` — WebSocket: a snapshot on connect and on every change.
 * - `POST /login/:id/cancel` — cancel a pending or scanned login.
 */
export const sessionRoutes = new Hono<{ Bindings: Env }>();

/**
 * Refuses browser requests from another origin (cross-site WebSocket hijacking, CSRF). Browsers
 * always send `Origin` on WebSocket handshakes and POSTs; requests without it are not from a page.
 * @throws {ProblemError} 403 `forbidden`.
 */
export function assertSameOrigin(c: Context<{ Bindings: Env }>): void {
  const origin = c.req.header('Origin');
  if (origin !== undefined && origin !== new URL(c.env.ISSUER).origin) {
    throw new ProblemError('forbidden', 403, 'Cross-origin request refused', {
      detail: 'This endpoint only accepts requests from the login page itself.',
    });
  }
}

sessionRoutes.get('/:id/state', async (c) => {
  const id = c.req.param('id');
  const stub = loginStub(c.env, id);
  // With its QR drawn, for a page that polls while its socket is down (./rotation.ts).
  const snapshot = drawFrames(unwrap(await stub.read(await bindingHashFrom(c, id))));
  return c.json(snapshot, 200, { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
});

sessionRoutes.get('/:id/ws', async (c) => {
  assertSameOrigin(c);
  const id = c.req.param('id');
  const stub = loginStub(c.env, id);
  const headers = new Headers(c.req.raw.headers);
  headers.set(BINDING_HEADER, await bindingHashFrom(c, id));
  return stub.fetch(new Request(c.req.raw.url, { method: 'GET', headers }));
});

sessionRoutes.post('/:id/cancel', async (c) => {
  assertSameOrigin(c);
  const id = c.req.param('id');
  const stub = loginStub(c.env, id);
  const snapshot = unwrap(await stub.cancel(await bindingHashFrom(c, id)));
  return c.json(snapshot, 200, { 'Cache-Control': 'no-store' });
});
