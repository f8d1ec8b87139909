/**
 * `POST /login/:id/return`, mounted at `/login`: every way back to the relying service from the
 * hosted page without a code — "Cancel and return to <service>" while the login is pending or
 * scanned, "Back to <service>" once it was denied, cancelled or has expired. A plain form post
 * (works without JavaScript), same-origin only, binding cookie required.
 *
 * The answer to the service (RFC 6749 §4.1.2.1, with `state` and `iss`), documented in
 * docs/relying-services.md:
 * - denied on the phone → `access_denied`, {@link DESCRIPTIONS.denied};
 * - cancelled in the browser → `access_denied`, {@link DESCRIPTIONS.cancelled};
 * - expired → `access_denied`, {@link DESCRIPTIONS.timedOut}. Not `login_required`: that code
 *   answers `prompt=none`, and services commonly react to it by sending the browser straight
 *   back with a login prompt — a fresh QR code the person never asked for. A timeout is the
 *   person not completing the login, which is what `access_denied` says; the fixed description
 *   tells the two apart.
 * An approved login goes on to `/login/:id/continue` (its code) instead.
 */
import { Hono } from 'hono';
import { ProblemError } from '../http/problem.ts';
import { messages } from '../../client/shared/i18n.ts';
import { isSameOriginPost } from '../login/routes.tsx';
import { bindingHashFrom } from '../session/binding.ts';
import { loginStub, unwrap } from '../session/stub.ts';
import type { LoginState } from '../session/machine.ts';
import type { Result } from '../session/types.ts';
import type { AuthorizationRequest } from './authorize.ts';
import { DESCRIPTIONS, type Description } from './descriptions.ts';
import { escapeHtml, htmlDocument } from './html.ts';
import { authorizationResponseAfterForm } from './respond.ts';

/** The error a login that ended without approval returns with (see the module comment). */
export function returnError(state: LoginState): { error: 'access_denied'; error_description: Description } | null {
  switch (state) {
    case 'denied':
      return { error: 'access_denied', error_description: DESCRIPTIONS.denied };
    case 'cancelled':
      return { error: 'access_denied', error_description: DESCRIPTIONS.cancelled };
    case 'expired':
      return { error: 'access_denied', error_description: DESCRIPTIONS.timedOut };
    default:
      return null;
  }
}

export const returnRoutes = new Hono<{ Bindings: Env }>();

returnRoutes.post('/:id/return', async (c) => {
  const id = c.req.param('id');
  if (!isSameOriginPost(c)) {
    const t = messages('en');
    return c.html(htmlDocument(t.errors.crossSiteTitle, `<main><h1>${escapeHtml(t.errors.crossSiteTitle)}</h1><p>${escapeHtml(t.errors.crossSiteBody)}</p></main>`), 403, {
      'Cache-Control': 'no-store',
    });
  }
  const stub = loginStub(c.env, id);
  const binding = await bindingHashFrom(c, id);
  let snapshot = unwrap(await stub.read(binding));
  // Cancelling ends the login on the phone too: its answer is refused with `login-cancelled`.
  if (snapshot.state === 'pending' || snapshot.state === 'scanned') {
    const cancelled = await stub.cancel(binding);
    snapshot = cancelled.ok ? cancelled.value : unwrap(await stub.read(binding));
  }
  const error = returnError(snapshot.state);
  if (!error) {
    // Approved in the meantime: the code is what the service gets.
    c.header('Cache-Control', 'no-store');
    return c.redirect(`/login/${id}/continue`, 303);
  }
  const stored = (await stub.restartRequest(binding)) as Result<{ authorization: Record<string, unknown> }>;
  const request = unwrap(stored).authorization as unknown as AuthorizationRequest;
  if (typeof request.redirect_uri !== 'string') {
    throw new ProblemError('conflict', 409, 'No authorization request', {
      detail: 'This login was not started by a service, so there is nowhere to return to.',
    });
  }
  return authorizationResponseAfterForm(c.env.ISSUER, request, error, snapshot.locale === 'en' ? 'en' : 'cs');
});
