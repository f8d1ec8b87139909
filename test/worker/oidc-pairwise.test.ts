/**
 * Pairwise subject identifiers (OIDC Core §8.1): registration, the `sub` every token and answer
 * carries for a pairwise client, the hints that carry it back, logout, and the operator API.
 * oauth4webapi is the relying service.
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import app from '../../src/index.ts';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import { end, withClient, type SessionRecord } from '../../src/browser-session/lifetime.ts';
import type { LogoutDelivery } from '../../src/oidc/backchannel.ts';
import { registerClient, SectorError, updateClient } from '../../src/oidc/clients.ts';
import { sectorIdentifierOf } from '../../src/oidc/subject.ts';
import { randomToken } from '../../src/session/crypto.ts';
import { call, testDevice } from './helpers.ts';
import { codeRequest, discover, loginFrom, newClient, newPerson, authorize, rp, type TestClient } from './oidc-support.ts';
import { authorizeIn, Browser, consented, loginWithPhone, redeem } from './sso-support.ts';
import { answerAs, scanAs, sign } from './helpers.ts';
import { consoleBrowser } from './console-support.ts';
import { getClient } from '../../src/oidc/clients.ts';

const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };

/** The formula of docs/relying-services.md, computed here independently of src/oidc/subject.ts. */
async function expectedPairwise(sector: string, sub: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(env.PAIRWISE_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(sector + sub)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A confidential pairwise client on its own host (its sector), with back-channel logout registered. */
async function pairwiseClient(host = `rp-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`): Promise<TestClient & { host: string }> {
  const redirectUri = `https://${host}/cb`;
  const { client, clientSecret } = await registerClient(env.DB, {
    name: `Pairwise RP ${host}`,
    redirectUris: [redirectUri, `https://${host}/other`],
    subjectType: 'pairwise',
    postLogoutRedirectUris: [`https://${host}/bye`],
    backchannelLogoutUri: `https://${host}/backchannel`,
  });
  return { client: { client_id: client.clientId }, secret: clientSecret!, redirectUri, name: client.name, host };
}

/** Logs in at `tc` with the phone in `browser`; returns the ID token's claims, the token and the access token. */
async function logIn(browser: Browser, tc: TestClient, device: Awaited<ReturnType<typeof testDevice>>, extra: Record<string, string> = {}) {
  const request = await codeRequest(tc, extra);
  const callback = await loginWithPhone(browser, request.params, device);
  return { request, ...(await redeemWithToken(tc, request, callback)) };
}

async function redeemWithToken(tc: TestClient, request: Awaited<ReturnType<typeof codeRequest>>, callback: URL) {
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce, requireIdToken: true });
  return { claims: oauth.getValidatedIdTokenClaims(tokens)!, idToken: tokens.id_token!, accessToken: tokens.access_token };
}

async function userinfoSub(accessToken: string): Promise<unknown> {
  const res = await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sub: unknown }).sub;
}

async function enrolled(sub: string) {
  const device = await testDevice('Jana’s phone', sub);
  await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
    .bind(device.id, sub, JSON.stringify(device.publicJwk), device.name, Date.now())
    .run();
  return device;
}

function redirectedTo(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

describe('the sector identifier (OIDC Core §8.1)', () => {
  it('is the one host of the redirect URIs, ports and paths aside; none when they span hosts', () => {
    expect(sectorIdentifierOf(['https://Portal.example/cb', 'https://portal.example:8443/other'])).toBe('portal.example');
    expect(sectorIdentifierOf(['https://portal.example/cb', 'https://www.portal.example/cb'])).toBeNull();
    expect(sectorIdentifierOf([])).toBeNull();
  });

  it('registerClient refuses a pairwise client on several hosts; updateClient keeps it on its host', async () => {
    await expect(registerClient(env.DB, { name: 'x', redirectUris: ['https://a.example/cb', 'https://b.example/cb'], subjectType: 'pairwise' })).rejects.toBeInstanceOf(SectorError);
    const tc = await pairwiseClient();
    await expect(updateClient(env.DB, tc.client.client_id, { redirectUris: ['https://elsewhere.example/cb'] })).rejects.toBeInstanceOf(SectorError);
    const moved = await updateClient(env.DB, tc.client.client_id, { redirectUris: [`https://${tc.host}/new-cb`] });
    expect(moved?.sectorIdentifier).toBe(tc.host);
  });
});

describe('pairwise sub in tokens and UserInfo', () => {
  it('two pairwise services see different subs for one person, each stable and equal in UserInfo; a public one sees the identity’s', async () => {
    const person = await newPerson();
    const device = await enrolled(person.sub);
    const a = await pairwiseClient();
    const b = await pairwiseClient();
    const atA = await logIn(new Browser(), a, device);
    const atB = await logIn(new Browser(), b, device);
    expect(atA.claims.sub).toBe(await expectedPairwise(a.host, person.sub));
    expect(atB.claims.sub).toBe(await expectedPairwise(b.host, person.sub));
    expect(atA.claims.sub).not.toBe(atB.claims.sub);
    expect(atA.claims.sub).not.toContain(person.sub);
    expect(await userinfoSub(atA.accessToken)).toBe(atA.claims.sub);
    expect(await userinfoSub(atB.accessToken)).toBe(atB.claims.sub);
    // The same person logging in again at A (a new browser, a new approval): the same sub.
    const again = await logIn(new Browser(), a, device);
    expect(again.claims.sub).toBe(atA.claims.sub);
    // A public client: the identity's own sub.
    const open = await newClient();
    expect((await logIn(new Browser(), open, device)).claims.sub).toBe(person.sub);
  });

  it('two pairwise services on one host share the sector, so they see the same sub', async () => {
    const person = await newPerson();
    const device = await enrolled(person.sub);
    const host = `shared-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`;
    const first = await logIn(new Browser(), await pairwiseClient(host), device);
    const second = await logIn(new Browser(), await pairwiseClient(host), device);
    expect(second.claims.sub).toBe(first.claims.sub);
  });

  it('single sign-on: the second service gets its own pairwise sub with the session’s sid and auth_time', async () => {
    const person = await newPerson();
    const device = await enrolled(person.sub);
    const browser = new Browser();
    const a = await pairwiseClient();
    const b = await pairwiseClient();
    const atA = await logIn(browser, a, device);
    // A silent answer releases only what the person consented to for b (src/oidc/consent.ts).
    await consented(person.sub, b.client.client_id);
    const request = await codeRequest(b);
    const atB = await redeem(b, request, redirectedTo(await authorizeIn(browser, request.params)));
    expect(atB.claims.sub).toBe(await expectedPairwise(b.host, person.sub));
    expect(atB.claims.sid).toBe(atA.claims.sid);
    expect(atB.claims.auth_time).toBe(atA.claims.auth_time);
  });
});

describe('hints carry the pairwise sub back', () => {
  it('id_token_hint of a pairwise service names its person: prompt=none answers silently for them, login_required for another', async () => {
    const person = await newPerson();
    const browser = new Browser();
    const a = await pairwiseClient();
    const { idToken, claims } = await logIn(browser, a, await enrolled(person.sub));
    const request = await codeRequest(a, { prompt: 'none', id_token_hint: idToken });
    expect((await redeem(a, request, redirectedTo(await authorizeIn(browser, request.params)))).claims.sub).toBe(claims.sub);
    const other = new Browser();
    await logIn(other, await newClient(), await enrolled((await newPerson()).sub));
    const refused = await codeRequest(a, { prompt: 'none', id_token_hint: idToken });
    expect(redirectedTo(await authorizeIn(other, refused.params)).searchParams.get('error')).toBe('login_required');
  });

  it('login_hint with a pairwise sub restricts the phone to that person; the identity’s own sub means nothing to a pairwise service', async () => {
    const jana = await newPerson();
    const a = await pairwiseClient();
    const { claims } = await logIn(new Browser(), a, await enrolled(jana.sub));
    const login = await loginFrom(await authorize((await codeRequest(a, { login_hint: claims.sub })).params));
    const petrsPhone = await testDevice('Petr’s phone', (await newPerson({ given_name: 'Petr' })).sub);
    const refused = await login.stub.scan({
      frame: login.frame,
      device: { id: petrsPhone.id, sub: petrsPhone.sub, name: petrsPhone.name, publicJwk: petrsPhone.publicJwk },
      signature: await sign(petrsPhone, 'scan', login.id),
    });
    expect(refused).toMatchObject({ ok: false, problem: { code: 'wrong-identity' } });
    const janasPhone = await testDevice('Jana’s phone', jana.sub);
    expect((await answerAs(login, janasPhone, 'approve', await scanAs(login, janasPhone))).ok).toBe(true);
    // The identity's own sub is not a name this service knows: no restriction, Petr may approve.
    const open = await loginFrom(await authorize((await codeRequest(a, { login_hint: jana.sub })).params));
    expect((await answerAs(open, petrsPhone, 'approve', await scanAs(open, petrsPhone))).ok).toBe(true);
  });
});

describe('logout with a pairwise service', () => {
  it('its id_token_hint ends the session without asking, and its logout token carries its pairwise sub', async () => {
    const person = await newPerson();
    const device = await enrolled(person.sub);
    const browser = new Browser();
    const a = await pairwiseClient();
    const open = await newClient();
    const atA = await logIn(browser, a, device);
    await consented(person.sub, open.client.client_id);
    const request = await codeRequest(open);
    await redeem(open, request, redirectedTo(await authorizeIn(browser, request.params)));
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    // Deliveries are recorded here instead of POSTed (the object's static seam, as in browser-session.test.ts).
    const delivered: LogoutDelivery[] = [];
    const original = await runInDurableObject(stub, (instance: BrowserSession) => {
      const runtime = instance.constructor as typeof BrowserSession;
      const real = runtime.deliver;
      runtime.deliver = async (_env, delivery) => (delivered.push(delivery), 'delivered');
      return real;
    });
    const res = await call(`/logout?${new URLSearchParams({ id_token_hint: atA.idToken, post_logout_redirect_uri: `https://${a.host}/bye`, state: 's1' })}`, {
      headers: { Cookie: browser.header() },
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(`https://${a.host}/bye?state=s1`);
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, (instance: BrowserSession) => void ((instance.constructor as typeof BrowserSession).deliver = original));
    const subs = Object.fromEntries(delivered.map((d) => [d.clientId, d.sub]));
    expect(subs).toEqual({ [a.client.client_id]: atA.claims.sub, [open.client.client_id]: person.sub });
  });

  it('the session record owes each client the sub it was given (pure)', () => {
    const record: SessionRecord = {
      secretHash: 'h', sid: 'sid', sub: 'sub_local', authTime: 1, acr: 'a', amr: ['hwk'], deviceId: 'd', clients: [],
      createdAt: 0, lastSeenAt: 0, idleSeconds: 60, absoluteSeconds: 600,
    };
    const withBoth = withClient(withClient(record, 'pairwise', 'pw-sub'), 'public');
    expect(withClient(withBoth, 'pairwise', 'pw-sub')).toBe(withBoth);
    expect(end(withBoth, 'logout', 5).owed.map((d) => [d.clientId, d.sub])).toEqual([['pairwise', 'pw-sub'], ['public', 'sub_local']]);
  });
});

describe('registration and the operator API', () => {
  const create = (body: Record<string, unknown>) => call('/admin/clients', { method: 'POST', headers: ADMIN, body: JSON.stringify({ name: 'Portál', ...body }) });

  it('discovery lists public and pairwise', async () => {
    expect((await discover()).subject_types_supported).toEqual(['public', 'pairwise']);
  });

  it('a pairwise client’s redirect URIs must share one host; the registration shows its subject type and sector', async () => {
    const spans = await create({ redirect_uris: ['https://a.example/cb', 'https://b.example/cb'], subject_type: 'pairwise' });
    expect(spans.status).toBe(400);
    expect((await spans.json()) as Record<string, unknown>).toMatchObject({ type: 'urn:mobile-key:problem:invalid-input', detail: expect.stringContaining('one host') });
    expect((await create({ redirect_uris: ['https://a.example/cb'], subject_type: 'secret' })).status).toBe(400);
    const made = await create({ redirect_uris: ['https://a.example/cb', 'https://a.example/cb2'], subject_type: 'pairwise' });
    expect(made.status).toBe(201);
    const body = (await made.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ subject_type: 'pairwise', sector_identifier: 'a.example' });
    const shown = (await (await call(`/admin/clients/${body.client_id}`, { headers: ADMIN })).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({ subject_type: 'pairwise', sector_identifier: 'a.example' });
    const moved = await call(`/admin/clients/${body.client_id}`, { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ redirect_uris: ['https://b.example/cb'] }) });
    expect(moved.status).toBe(400);
    expect(((await (await create({ redirect_uris: ['https://a.example/cb'] })).json()) as Record<string, unknown>).subject_type).toBe('public');
  });

  it('without PAIRWISE_SECRET a pairwise client is refused with a clear 409', async () => {
    const request = new Request('http://localhost:8787/admin/clients', {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'Portál', redirect_uris: ['https://a.example/cb'], subject_type: 'pairwise' }),
    });
    const res = await app.fetch(request, { ...env, PAIRWISE_SECRET: '' }, createExecutionContext());
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toContain('PAIRWISE_SECRET');
  });

  it('the operator finds the person behind a service’s pairwise sub, and the sub a service sees for a person', async () => {
    const person = await newPerson();
    const a = await pairwiseClient();
    const { claims } = await logIn(new Browser(), a, await enrolled(person.sub));
    const found = await call(`/admin/clients/${a.client.client_id}/subjects/${encodeURIComponent(claims.sub)}`, { headers: ADMIN });
    expect((await found.json()) as Record<string, unknown>).toEqual({ client_id: a.client.client_id, subject_type: 'pairwise', sub: claims.sub, identity_sub: person.sub });
    const seen = await call(`/admin/identities/${person.sub}/subjects/${a.client.client_id}`, { headers: ADMIN });
    expect(((await seen.json()) as Record<string, unknown>).client_sub).toBe(claims.sub);
    // Another service's pairwise sub is not one this service was ever given.
    const b = await pairwiseClient();
    const unknown = await call(`/admin/clients/${b.client.client_id}/subjects/${encodeURIComponent(claims.sub)}`, { headers: ADMIN });
    expect(unknown.status).toBe(404);
  });

  it('the console registers a pairwise service, and refuses one whose redirect URIs span hosts', async () => {
    const admin = await consoleBrowser('admin');
    const spans = await admin.post('/console/clients', { csrf: admin.csrf, name: 'Obec', redirect_uris: 'https://a.example/cb\nhttps://b.example/cb', subject_type: 'pairwise' });
    expect(spans.status).toBe(400);
    expect(await spans.text()).toContain('must all be on one host');
    const created = await admin.post('/console/clients', { csrf: admin.csrf, name: 'Obec', redirect_uris: 'https://obec.example/cb', subject_type: 'pairwise' });
    expect(created.status).toBe(200);
    const clientId = /id="client-id">([^<]+)</.exec(await created.text())![1]!;
    expect(await getClient(env.DB, clientId)).toMatchObject({ subjectType: 'pairwise', sectorIdentifier: 'obec.example' });
  });
});
