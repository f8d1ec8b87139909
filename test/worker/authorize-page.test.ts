// `GET /authorize` answers a browser's navigation with the login page itself (one round trip
// fewer than a 303 to it); every other requester, and a POST, still gets the 303.
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';
import {
  authorize,
  codeRequest,
  continueLogin,
  decide,
  discover,
  loginFrom,
  newClient,
  newPerson,
  rp,
} from './oidc-support.ts';
import { NAVIGATION_HEADERS } from '../navigation.ts';

/** The page's embedded snapshot (`#login-state`), parsed as the script parses it. */
function embeddedLoginId(html: string): string | undefined {
  const json = /<script type="application\/json" id="login-state">([^<]*)<\/script>/.exec(html)?.[1];
  return json === undefined ? undefined : (JSON.parse(json) as { snapshot: { id: string } }).snapshot.id;
}

describe('GET /authorize from a browser navigation', () => {
  it('answers with the login page, naming its own address, and the login completes through it', async () => {
    const tc = await newClient();
    const { sub } = await newPerson();
    const request = await codeRequest(tc);
    const res = await authorize(request.params, NAVIGATION_HEADERS);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(res.headers.get('Content-Security-Policy')).not.toContain('unsafe-inline');
    const address = res.headers.get('Content-Location')!;
    const id = /^\/login\/([0-9a-f]{64})$/.exec(address)?.[1];
    expect(id).toBeDefined();
    expect(res.headers.get('Set-Cookie')).toContain(`__Host-`);
    const html = await res.clone().text();
    expect(embeddedLoginId(html)).toBe(id);
    expect(html).toContain('<svg');
    // Without scripts it reloads its own address, never /authorize (that would start another login).
    expect(html).toMatch(new RegExp(`<meta http-equiv="refresh" content="\\d+;url=/login/${id}"`));

    const login = await loginFrom(res);
    const again = await call(address, { headers: { Cookie: login.cookie, ...NAVIGATION_HEADERS } });
    expect(again.status).toBe(200);
    expect(embeddedLoginId(await again.text())).toBe(id);

    await decide(login, sub);
    const back = await continueLogin(login);
    expect(back.status).toBe(303);
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, new URL(back.headers.get('Location')!), request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce, requireIdToken: true });
    expect(oauth.getValidatedIdTokenClaims(tokens)!.sub).toBeTruthy();
  });

  it('gives everyone else the 303 to the page: API clients, browsers without Fetch Metadata, frames', async () => {
    const tc = await newClient();
    const withoutMetadata = { Accept: NAVIGATION_HEADERS.Accept };
    const frame = { ...NAVIGATION_HEADERS, 'Sec-Fetch-Dest': 'iframe' };
    for (const headers of [{}, withoutMetadata, frame]) {
      const res = await authorize((await codeRequest(tc)).params, headers);
      expect(res.status, JSON.stringify(headers)).toBe(303);
      expect(res.headers.get('Location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
      expect(res.headers.has('Content-Location')).toBe(false);
    }
  });

  it('answers a HEAD with the headers its GET would have (RFC 9110 §9.3.2)', async () => {
    const tc = await newClient();
    const res = await authorize((await codeRequest(tc)).params, NAVIGATION_HEADERS, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  it('answers a POST navigation with the 303 (Post/Redirect/Get: a reload must not post again)', async () => {
    const tc = await newClient();
    const res = await call('/authorize', {
      method: 'POST',
      headers: { ...NAVIGATION_HEADERS, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams((await codeRequest(tc)).params),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });

  it('still sends a bad request back as before: errors are not pages of a login', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { response_type: 'token' });
    const res = await authorize(request.params, NAVIGATION_HEADERS);
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('Location')!);
    expect(back.origin + back.pathname).toBe(tc.redirectUri);
    expect(back.searchParams.get('error')).toBe('unsupported_response_type');
  });
});
