/**
 * Error hygiene (RFC 6749 §4.1.2.1, §5.2): every description is fixed, uses only the allowed
 * characters and never echoes request input.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION_CHARS, DESCRIPTIONS } from '../../src/oidc/descriptions.ts';
import { call } from './helpers.ts';
import { basic, codeRequest, newClient, token } from './oidc-support.ts';

/** A parameter name no fixed description could contain, with the characters §4.1.2.1 forbids. */
const HOSTILE = 'zqx"y\\z<b>';

describe('error_description', () => {
  it('every description we can send uses only %x20-21 / %x23-5B / %x5D-7E', () => {
    const all = Object.values(DESCRIPTIONS);
    expect(all.length).toBeGreaterThan(40);
    for (const description of all) expect(description, description).toMatch(DESCRIPTION_CHARS);
    expect('say "hi"').not.toMatch(DESCRIPTION_CHARS);
    expect('back\\slash').not.toMatch(DESCRIPTION_CHARS);
    expect('Příliš').not.toMatch(DESCRIPTION_CHARS);
  });

  it('a repeated parameter at /authorize is named nowhere in the redirect', async () => {
    const tc = await newClient();
    const query = new URLSearchParams((await codeRequest(tc)).params);
    query.append(HOSTILE, '1');
    query.append(HOSTILE, '2');
    const res = await call(`/authorize?${query}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = res.headers.get('Location')!;
    const back = new URL(location);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toBe(DESCRIPTIONS.parameterRepeated);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
    expect(decodeURIComponent(location)).not.toContain('zqx');
  });

  it('an over-long parameter is refused without its name or the limit', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { login_hint: 'a'.repeat(600) });
    const res = await call(`/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
    const back = new URL(res.headers.get('Location')!);
    expect(back.searchParams.get('error_description')).toBe(DESCRIPTIONS.parameterTooLong);
  });

  it('a repeated parameter at /token is named nowhere in the JSON', async () => {
    const tc = await newClient();
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: tc.redirectUri });
    body.append(HOSTILE, '1');
    body.append(HOSTILE, '2');
    const res = await call('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(tc.client.client_id, tc.secret!) },
      body,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain('zqx');
    expect(JSON.parse(text)).toEqual({ error: 'invalid_request', error_description: DESCRIPTIONS.parameterRepeated });
  });

  it('every token endpoint error carries a description from the fixed set', async () => {
    const tc = await newClient();
    const known = new Set<string>(Object.values(DESCRIPTIONS));
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ grant_type: 'password' }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
      [{ grant_type: 'authorization_code', code: `${'a'.repeat(64)}.${'b'.repeat(43)}`, redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
      [{ grant_type: 'authorization_code', code: 'c', redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, 'wrong') }],
      [{ grant_type: 'authorization_code', code: 'c', code_verifier: '"', redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
    ];
    for (const [form, headers] of cases) {
      const { body } = await token(form, headers);
      expect(known.has(String(body.error_description)), String(body.error_description)).toBe(true);
    }
  });
});
