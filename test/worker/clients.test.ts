import { env } from 'cloudflare:workers';
import { getClient } from '../../src/oidc/clients.ts';
import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';

const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };

function register(redirect_uris: string[]) {
  return call('/admin/clients', { method: 'POST', headers: ADMIN, body: JSON.stringify({ name: 'Portál', redirect_uris }) });
}

describe('registering a relying service', () => {
  it.each([
    [['https://rp.example/cb#'], 'fragment'],
    [['https://user:pass@rp.example/cb'], 'credentials'],
    [['http://rp.example/cb'], 'https'],
    [['https://rp.example/cb', 'https://rp.example/cb'], 'repeat'],
    [[`https://rp.example/${'a'.repeat(2100)}`], '2000'],
  ])('refuses redirect URIs %j (%s)', async (uris, reason) => {
    const res = await register(uris);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; detail: string };
    expect(body.type).toBe('urn:mobile-key:problem:invalid-input');
    expect(body.detail).toContain(reason);
  });

  it('accepts https anywhere and http on loopback', async () => {
    const res = await register(['https://rp.example/cb', 'http://localhost:3000/cb', 'http://127.0.0.1/cb']);
    expect(res.status).toBe(201);
  });
});

describe('logout registration (RP-Initiated, Back-Channel, Front-Channel Logout 1.0)', () => {
  async function create(extra: Record<string, unknown>) {
    return call('/admin/clients', {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'Portál', redirect_uris: ['https://rp.example/cb'], ...extra }),
    });
  }
  function patch(clientId: string, body: Record<string, unknown>) {
    return call(`/admin/clients/${clientId}`, { method: 'PATCH', headers: ADMIN, body: JSON.stringify(body) });
  }

  it('registers the logout URIs and reads them back; sessions are always required', async () => {
    const res = await create({
      post_logout_redirect_uris: ['https://rp.example/bye', 'http://localhost:3000/bye'],
      backchannel_logout_uri: 'https://rp.example/backchannel',
      frontchannel_logout_uri: 'https://rp.example/frontchannel?x=1',
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({
      post_logout_redirect_uris: ['https://rp.example/bye', 'http://localhost:3000/bye'],
      backchannel_logout_uri: 'https://rp.example/backchannel',
      backchannel_logout_session_required: true,
      frontchannel_logout_uri: 'https://rp.example/frontchannel?x=1',
      frontchannel_logout_session_required: true,
    });
    const stored = await getClient(env.DB, created.client_id as string);
    expect(stored).toMatchObject({
      postLogoutRedirectUris: ['https://rp.example/bye', 'http://localhost:3000/bye'],
      backchannelLogoutUri: 'https://rp.example/backchannel',
      frontchannelLogoutUri: 'https://rp.example/frontchannel?x=1',
    });
    const shown = (await (await call(`/admin/clients/${created.client_id}`, { headers: ADMIN })).json()) as Record<string, unknown>;
    expect(shown).not.toHaveProperty('client_secret');
    expect(shown.backchannel_logout_uri).toBe('https://rp.example/backchannel');
  });

  it('PATCH changes the ID token alg (the console edits it too) and refuses an unknown one', async () => {
    const created = (await (await create({})).json()) as Record<string, unknown>;
    expect(created.id_token_alg).toBe('RS256');
    const res = await patch(created.client_id as string, { id_token_alg: 'ES256' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>).id_token_alg).toBe('ES256');
    expect((await getClient(env.DB, created.client_id as string))?.idTokenAlg).toBe('ES256');
    expect((await patch(created.client_id as string, { id_token_alg: 'none' })).status).toBe(400);
    expect((await getClient(env.DB, created.client_id as string))?.idTokenAlg).toBe('ES256');
  });

  it('a client without logout registration has none', async () => {
    const created = (await (await create({})).json()) as Record<string, unknown>;
    expect(created).toMatchObject({ post_logout_redirect_uris: [], backchannel_logout_uri: null, frontchannel_logout_uri: null });
  });

  it.each([
    [{ post_logout_redirect_uris: ['https://rp.example/bye#x'] }, 'fragment'],
    [{ post_logout_redirect_uris: ['http://rp.example/bye'] }, 'https'],
    [{ post_logout_redirect_uris: ['https://rp.example/a', 'https://rp.example/a'] }, 'repeat'],
    [{ backchannel_logout_uri: 'http://rp.example/bc' }, 'https'],
    [{ backchannel_logout_uri: 'https://u:p@rp.example/bc' }, 'credentials'],
    [{ frontchannel_logout_uri: 'https://rp.example/fc#frag' }, 'fragment'],
    [{ frontchannel_logout_uri: 'javascript:alert(1)' }, 'http or https'],
    [{ backchannel_logout_session_required: false }, 'always true'],
  ])('refuses %j (%s) and registers nothing', async (extra, reason) => {
    const before = await env.DB.prepare('SELECT COUNT(*) AS n FROM clients').first<{ n: number }>();
    const res = await create(extra);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; detail: string };
    expect(body.type).toBe('urn:mobile-key:problem:invalid-input');
    expect(body.detail).toContain(reason);
    const after = await env.DB.prepare('SELECT COUNT(*) AS n FROM clients').first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it('updates logout URIs, keeps what is not sent, clears with null', async () => {
    const created = (await (await create({ backchannel_logout_uri: 'https://rp.example/bc' })).json()) as { client_id: string };
    const res = await patch(created.client_id, {
      post_logout_redirect_uris: ['https://rp.example/bye'],
      frontchannel_logout_uri: 'https://rp.example/fc',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: 'Portál',
      redirect_uris: ['https://rp.example/cb'],
      post_logout_redirect_uris: ['https://rp.example/bye'],
      backchannel_logout_uri: 'https://rp.example/bc',
      frontchannel_logout_uri: 'https://rp.example/fc',
    });
    await patch(created.client_id, { backchannel_logout_uri: null });
    expect((await getClient(env.DB, created.client_id))!.backchannelLogoutUri).toBeNull();
    expect((await getClient(env.DB, created.client_id))!.frontchannelLogoutUri).toBe('https://rp.example/fc');
  });

  it('an invalid update changes nothing; an unknown client is 404', async () => {
    const created = (await (await create({ post_logout_redirect_uris: ['https://rp.example/bye'] })).json()) as { client_id: string };
    const before = await getClient(env.DB, created.client_id);
    const bad = await patch(created.client_id, { post_logout_redirect_uris: ['http://evil.example/'], name: 'Jiný' });
    expect(bad.status).toBe(400);
    expect(await getClient(env.DB, created.client_id)).toEqual(before);
    const unknown = await patch('client_nope', { name: 'X' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { type: string }).type).toBe('urn:mobile-key:problem:not-found');
  });
});
