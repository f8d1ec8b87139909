/**
 * The pieces of logout that need a browser session, as units (the integration with the real
 * session is in logout-session.test.ts): whose hint ends a session without asking
 * ({@link decideLogout}), and the logged-out page with its front-channel iframes, CSP and the
 * way on to the post-logout URI.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/oidc/clients.ts';
import { frontchannelFrames, frontchannelUrl, logoutContentSecurityPolicy } from '../../src/oidc/frontchannel.ts';
import { loggedOutPage } from '../../src/oidc/logout-pages.tsx';
import { decideLogout } from '../../src/oidc/logout-request.ts';

const client = (overrides: Partial<Client> = {}): Client => ({
  clientId: 'client_a',
  name: 'Portál',
  public: false,
  redirectUris: ['https://portal.example/cb'],
  idTokenAlg: 'RS256',
  createdAt: 0,
  postLogoutRedirectUris: ['https://portal.example/bye'],
  backchannelLogoutUri: null,
  frontchannelLogoutUri: null,
  grantTypes: ['authorization_code'],
  subjectType: 'public',
  sectorIdentifier: null,
  requireNumberMatching: false,
  ...overrides,
});

async function sha256Base64(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

function unescape(html: string) {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
}

describe('decideLogout', () => {
  const hint = { sub: 'sub-jana', clientId: 'client_a', sid: 'sid-1' };
  const session = { sub: 'sub-jana', sid: 'sid-1' };
  const uri = 'https://portal.example/bye';

  it('a hint naming the session and a registered URI: end now, then there with state', () => {
    expect(decideLogout({ hint, hintClient: client(), postLogoutRedirectUri: uri, state: 's', session })).toEqual({
      kind: 'end',
      redirect: `${uri}?state=s`,
    });
    expect(decideLogout({ hint: { sub: 'sub-jana', clientId: 'client_a' }, hintClient: client(), session })).toEqual({ kind: 'end' });
  });

  it('no session left (a repeated logout): a valid hint still ends and redirects, harmlessly', () => {
    expect(decideLogout({ hint, hintClient: client(), postLogoutRedirectUri: uri, session: null })).toEqual({ kind: 'end', redirect: uri });
  });

  it.each([
    ['another person', { sub: 'sub-petr', sid: 'sid-1' }],
    ['another session', { sub: 'sub-jana', sid: 'sid-2' }],
  ])('a hint for %s asks first, carrying the registered URI for after', (_n, other) => {
    expect(decideLogout({ hint, hintClient: client(), postLogoutRedirectUri: uri, state: 's', session: other })).toEqual({
      kind: 'confirm',
      redirect: { clientId: 'client_a', uri },
      unregisteredUri: false,
    });
  });

  it('an unregistered URI (even with a good hint) or no hint: ask, and never carry the URI', () => {
    expect(decideLogout({ hint, hintClient: client(), postLogoutRedirectUri: 'https://portal.example/byeX', session })).toEqual({
      kind: 'confirm',
      unregisteredUri: true,
    });
    expect(decideLogout({ postLogoutRedirectUri: uri, session })).toEqual({ kind: 'confirm', unregisteredUri: true });
    expect(decideLogout({ session })).toEqual({ kind: 'confirm', unregisteredUri: false });
  });
});

describe('front-channel logout', () => {
  it('adds iss and sid to each registered URI, keeping its query; one frame per distinct URI', () => {
    expect(frontchannelUrl('https://portal.example/fc?tenant=1', 'https://op.example', 's 1')).toBe(
      'https://portal.example/fc?tenant=1&iss=https%3A%2F%2Fop.example&sid=s+1',
    );
    const frames = frontchannelFrames(
      [
        client({ frontchannelLogoutUri: 'https://portal.example/fc' }),
        client({ frontchannelLogoutUri: 'https://portal.example/fc' }),
        client(),
        null,
        client({ frontchannelLogoutUri: 'https://shop.example:8443/fc' }),
      ],
      'https://op.example',
      'sid',
    );
    expect(frames).toEqual(['https://portal.example/fc?iss=https%3A%2F%2Fop.example&sid=sid', 'https://shop.example:8443/fc?iss=https%3A%2F%2Fop.example&sid=sid']);
  });

  it('CSP frame-src names exactly the frames’ origins, none without frames', () => {
    expect(logoutContentSecurityPolicy(['https://a.example/x?1', 'https://a.example/y', 'https://b.example:8443/z'])).toContain(
      'frame-src https://a.example https://b.example:8443;',
    );
    expect(logoutContentSecurityPolicy([])).toContain("frame-src 'none'");
  });

  async function render(input: { frames: string[]; continueTo?: string }) {
    const app = new Hono();
    app.get('/', (c) => loggedOutPage(c, { locale: 'en', switchHref: () => '/', ...input }));
    const res = await app.request('/');
    return { res, html: await res.text() };
  }

  it('the logged-out page loads every frame hidden, then continues by a script allowed by its hash', async () => {
    const frames = frontchannelFrames(
      [client({ frontchannelLogoutUri: 'https://portal.example/fc' }), client({ frontchannelLogoutUri: 'https://shop.example/fc' })],
      env.ISSUER,
      'sid-abc',
    );
    const { res, html } = await render({ frames, continueTo: 'https://portal.example/bye?state=st' });
    expect(/<h1>([^<]*)<\/h1>/.exec(html)![1]).toBe('You are logged out');
    const srcs = [...html.matchAll(/<iframe data-frontchannel src="([^"]+)" hidden/g)].map((m) => unescape(m[1]!));
    expect(srcs).toEqual(frames);
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain('frame-src https://portal.example https://shop.example;');
    expect(csp).not.toContain('unsafe-inline');
    const script = unescape(/<script>([^<]+)<\/script>/.exec(html)![1]!);
    expect(csp).toContain(`script-src 'sha256-${await sha256Base64(script)}'`);
    expect(html).toContain('id="continue" href="https://portal.example/bye?state=st"');
    expect(html).toContain('http-equiv="refresh" content="5;url=https://portal.example/bye?state=st"');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('without a post-logout URI: no script, no refresh, a link to our front page', async () => {
    const { res, html } = await render({ frames: [] });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('refresh');
    expect(res.headers.get('Content-Security-Policy')).toContain("script-src 'none'");
  });
});
