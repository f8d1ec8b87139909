/**
 * A browser for the single sign-on tests: a cookie jar in front of the exported worker, the
 * phone's approval, and oauth4webapi as each relying service redeeming its code.
 */
import * as oauth from 'oauth4webapi';
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { recordConsent } from '../../src/identity/consents.ts';
import { claimsForScopes } from '../../src/oidc/claims.ts';
import { SESSION_COOKIE } from '../../src/browser-session/api.ts';
import { answerAs, call, scanAs, testDevice, type TestDevice } from './helpers.ts';
import { codeRequest, discover, loginFrom, rp, type TestClient } from './oidc-support.ts';

/** The cookies a browser keeps (name → value), updated from every response. */
export class Browser {
  readonly cookies = new Map<string, string>();

  header(extra?: string): string {
    return [...[...this.cookies].map(([k, v]) => `${k}=${v}`), ...(extra ? [extra] : [])].join('; ');
  }

  take(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || pair.slice(eq + 1) === '';
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }

  async get(path: string): Promise<Response> {
    return this.take(await call(path, { headers: { Cookie: this.header() }, redirect: 'manual' }));
  }

  /** POSTs a form (as a page's `<form method="post">` does). */
  async post(path: string, form: URLSearchParams): Promise<Response> {
    return this.take(
      await call(path, {
        method: 'POST',
        headers: { Cookie: this.header(), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form,
        redirect: 'manual',
      }),
    );
  }

  get session(): string | undefined {
    return this.cookies.get(SESSION_COOKIE);
  }
}

/** GET /authorize from the browser. */
export function authorizeIn(browser: Browser, params: Record<string, string>): Promise<Response> {
  return browser.get(`/authorize?${new URLSearchParams(params)}`);
}

/**
 * The person's remembered ("always") consent for a service to receive what `scope` releases,
 * as the phone's "always for this service" or the consent page records it.
 */
export async function consented(sub: string, clientId: string, scope = 'openid profile email'): Promise<void> {
  await recordConsent(env.DB, { sub, clientId, kind: 'always', claims: claimsForScopes(scope.split(' ')) });
}

/**
 * The whole trip with the phone: /authorize shows a login page, `device` approves, /continue.
 * The approval answers the object directly (not over the mobile API), so with
 * `consent: 'always'` (the default) the consent the API would record is recorded here.
 * @returns /continue's response: the answer to the relying service in the request's response mode
 *   (a 303 to the redirect_uri, or with `response_mode=form_post` a 200 auto-submitting form).
 */
export async function approveWithPhone(browser: Browser, params: Record<string, string>, device?: TestDevice, consent: 'once' | 'always' = 'always'): Promise<Response> {
  const res = await authorizeIn(browser, params);
  const login = await loginFrom(res);
  const phone = device ?? (await testDevice('Jana’s phone', 'sub-unused'));
  const nonce = await scanAs(login, phone);
  expect((await answerAs(login, phone, 'approve', nonce)).ok).toBe(true);
  if (consent === 'always') await consented(phone.sub, params.client_id!, params.scope);
  return browser.get(`/login/${login.id}/continue`);
}

/**
 * {@link approveWithPhone} in the default (query) response mode.
 * @returns the callback URL at the relying service.
 */
export async function loginWithPhone(browser: Browser, params: Record<string, string>, device?: TestDevice, consent: 'once' | 'always' = 'always'): Promise<URL> {
  const done = await approveWithPhone(browser, params, device, consent);
  expect(done.status).toBe(303);
  return new URL(done.headers.get('Location')!);
}

/** The relying service redeems the code on its callback with oauth4webapi; returns the ID token's claims. */
export async function redeem(tc: TestClient, request: Awaited<ReturnType<typeof codeRequest>>, callback: URL) {
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    tc.client,
    oauth.ClientSecretBasic(tc.secret!),
    params,
    tc.redirectUri,
    request.codeVerifier,
    rp,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, {
    expectedNonce: request.nonce,
    requireIdToken: true,
  });
  await oauth.validateApplicationLevelSignature(as, response, rp);
  return { claims: oauth.getValidatedIdTokenClaims(tokens)!, idToken: tokens.id_token! };
}
