/**
 * OAuth 2.0 Form Post Response Mode: codes and errors as an auto-submitting form whose script
 * the CSP allows by hash, with a visible button for browsers without JavaScript.
 */
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/browser-session/api.ts';
import { DESCRIPTIONS } from '../../src/oidc/descriptions.ts';
import { authorize, codeRequest, continueLogin, decide, discover, loginFrom, newClient, newPerson, rp } from './oidc-support.ts';

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Reads a form_post page as a browser would submit it: the action and the fields. */
async function formPost(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const html = await res.text();
  const action = unescape(/<form method="post" action="([^"]+)">/.exec(html)![1]!);
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.append(unescape(name!), unescape(value!));
  const script = /<script>([^<]*)<\/script>/.exec(html)![1]!;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(script)));
  const csp = res.headers.get('Content-Security-Policy')!;
  return { html, action, fields, csp, scriptHash: `'sha256-${btoa(String.fromCharCode(...digest))}'` };
}

describe('response_mode=form_post', () => {
  it('is advertised beside query', async () => {
    expect((await discover()).response_modes_supported).toEqual(['query', 'form_post']);
  });

  it('an error goes back as a form: CSP allows the script by its hash only, and a button remains', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc, { response_mode: 'form_post', scope: 'profile' });
    const page = await formPost(await authorize(params));
    expect(page.action).toBe(tc.redirectUri);
    expect(page.csp).toContain(`script-src ${page.scriptHash}`);
    expect(page.csp).not.toContain('unsafe-inline');
    expect(page.csp).toContain(`form-action ${new URL(tc.redirectUri).origin}`);
    expect(page.csp).toContain("frame-ancestors 'none'");
    expect(page.html).toMatch(/<button class="button" type="submit" data-form-post="">[^<]+<\/button>/);
    const as = await discover();
    expect(() => oauth.validateAuthResponse(as, tc.client, page.fields, state)).toThrow(oauth.AuthorizationResponseError);
    try {
      oauth.validateAuthResponse(as, tc.client, page.fields, state);
    } catch (error) {
      expect((error as oauth.AuthorizationResponseError).error).toBe('invalid_scope');
      expect((error as oauth.AuthorizationResponseError).error_description).toBe(DESCRIPTIONS.scopeWithoutOpenid);
    }
    expect(page.fields.get('iss')).toBe(env.ISSUER);
  });

  it('a code goes back as a form, and oauth4webapi redeems it', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc, { response_mode: 'form_post' });
    const login = await loginFrom(await authorize(request.params));
    await decide(login, person.sub);
    const res = await continueLogin(login);
    // The form page also starts single sign-on: the browser session's cookie comes with it.
    expect(res.headers.getSetCookie().some((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`))).toBe(true);
    const page = await formPost(res);
    expect(page.action).toBe(tc.redirectUri);
    const as = await discover();
    const callback = oauth.validateAuthResponse(as, tc.client, page.fields, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), callback, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce });
    expect(oauth.getValidatedIdTokenClaims(tokens)!.sub).toBe(person.sub);
  });

  it('an unknown response_mode is invalid_request, sent back in the query', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { response_mode: 'fragment' });
    const res = await authorize(params);
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('Location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toBe(DESCRIPTIONS.responseModeUnsupported);
  });
});
