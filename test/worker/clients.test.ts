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
