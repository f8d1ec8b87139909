/**
 * The isolate's client cache (src/oidc/client-cache.ts): an operator's change is seen at once
 * by the isolate that made it, and a change it did not see is picked up within 30 s.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLIENT_CACHE_TTL_MS, cachedClientRecord } from '../../src/oidc/client-cache.ts';
import { getCachedClient, registerClient } from '../../src/oidc/clients.ts';
import { disableClient, rotateSecret } from '../../src/console/services.ts';
import { sha256Hex } from '../../src/session/crypto.ts';
import { call } from './helpers.ts';

const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };

function authorize(clientId: string, redirectUri: string): Promise<Response> {
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  return call(`/authorize?${query}`, { redirect: 'manual', headers: { 'CF-Connecting-IP': '198.18.7.1' } });
}

/** Where /authorize sent the browser: the login page (303 to /login/…) or an error page. */
async function outcome(res: Response): Promise<'login' | 'refused'> {
  await res.body?.cancel();
  return res.status === 303 && res.headers.get('Location')?.includes('/login/') ? 'login' : 'refused';
}

function token(clientId: string, secret: string): Promise<Response> {
  return call('/token', {
    method: 'POST',
    headers: { Authorization: `Basic ${btoa(`${clientId}:${secret}`)}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'https://rp.example/a' }),
  });
}

describe('client records cached in the isolate', () => {
  it('an operator API update of the redirect URIs applies to the next /authorize', async () => {
    const { client } = await registerClient(env.DB, { name: 'Portál', redirectUris: ['https://rp.example/a'], public: true });
    expect(await outcome(await authorize(client.clientId, 'https://rp.example/a'))).toBe('login'); // cached now
    const patched = await call(`/admin/clients/${client.clientId}`, {
      method: 'PATCH',
      headers: ADMIN,
      body: JSON.stringify({ redirect_uris: ['https://rp.example/b'] }),
    });
    expect(patched.status).toBe(200);
    expect(await outcome(await authorize(client.clientId, 'https://rp.example/a'))).toBe('refused');
    expect(await outcome(await authorize(client.clientId, 'https://rp.example/b'))).toBe('login');
  });

  it('a service disabled in the console can no longer start a login', async () => {
    const { client } = await registerClient(env.DB, { name: 'Portál', redirectUris: ['https://rp.example/a'], public: true });
    expect(await outcome(await authorize(client.clientId, 'https://rp.example/a'))).toBe('login');
    expect(await disableClient(env.DB, client.clientId)).toBe(true);
    expect(await outcome(await authorize(client.clientId, 'https://rp.example/a'))).toBe('refused');
  });

  it('after a secret rotation the old secret is refused at /token and the new one accepted', async () => {
    const { client, clientSecret } = await registerClient(env.DB, { name: 'Portál', redirectUris: ['https://rp.example/a'] });
    const before = await token(client.clientId, clientSecret!);
    expect(((await before.json()) as { error: string }).error).toBe('invalid_grant'); // authenticated; the code is bad
    const rotated = await rotateSecret(env.DB, client.clientId);
    const old = await token(client.clientId, clientSecret!);
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: string }).error).toBe('invalid_client');
    expect(((await (await token(client.clientId, rotated!)).json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('a secret rotated behind the cache (another isolate): the new one works at once, and its first use retires the old', async () => {
    const { client, clientSecret } = await registerClient(env.DB, { name: 'Portál', redirectUris: ['https://rp.example/a'] });
    const error = async (secret: string) => ((await (await token(client.clientId, secret)).json()) as { error: string }).error;
    expect(await error(clientSecret!)).toBe('invalid_grant');
    // What another isolate's rotation looks like from here: the row changes, our entry does not.
    const next = 'the-new-secret-of-this-service';
    await env.DB.prepare('UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1').bind(client.clientId, await sha256Hex(next)).run();
    expect(await error(next)).toBe('invalid_grant'); // a mismatch re-reads the row
    expect(await error(clientSecret!)).toBe('invalid_client'); // ...which replaced the stale entry
  });

  it('a change this isolate did not make is seen once the entry is 30 s old, not before', async () => {
    let reads = 0;
    const load = async () => ({ name: `read ${++reads}` });
    const t0 = 1_000_000;
    expect(await cachedClientRecord('client_ttl', load, t0)).toEqual({ name: 'read 1' });
    expect(await cachedClientRecord('client_ttl', load, t0 + CLIENT_CACHE_TTL_MS - 1)).toEqual({ name: 'read 1' });
    expect(await cachedClientRecord('client_ttl', load, t0 + CLIENT_CACHE_TTL_MS)).toEqual({ name: 'read 2' });
    expect(CLIENT_CACHE_TTL_MS).toBe(30_000); // the staleness docs/performance.md promises
  });

  it('an unknown client id is not remembered: registering it works at once', async () => {
    expect(await getCachedClient(env.DB, 'client_later')).toBeNull();
    await registerClient(env.DB, { clientId: 'client_later', name: 'Later', redirectUris: ['https://rp.example/a'], public: true });
    expect((await getCachedClient(env.DB, 'client_later'))?.name).toBe('Later');
  });
});
