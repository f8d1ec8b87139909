import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateActivationCode,
  issueActivationCode,
  normaliseActivationCode,
} from '../../src/identity/activation.ts';
import { getDevice, listDevices } from '../../src/identity/devices.ts';
import { getIdentity } from '../../src/identity/identities.ts';
import { ENROL_THROTTLE, checkThrottle, recordFailure } from '../../src/identity/throttle.ts';
import { call } from './helpers.ts';
import { ADMIN, address, auditTypes, createTestIdentity, newKeyPair, post, problemCode } from './identity-helpers.ts';

describe('activation codes', () => {
  it('are four groups of four unambiguous characters carrying 80 bits', () => {
    const codes = new Set(Array.from({ length: 200 }, generateActivationCode));
    expect(codes.size).toBe(200);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  });

  it('are normalised: case, spaces, dashes and look-alikes do not matter', () => {
    expect(normaliseActivationCode(' 7qkm 3xtr-9bwd-h2ce ')).toBe('7QKM3XTR9BWDH2CE');
    expect(normaliseActivationCode('OIL0-0000-0000-0000')).toBe('0110000000000000');
    expect(normaliseActivationCode('7QKM-3XTR-9BWD-H2C')).toBeNull();
    expect(normaliseActivationCode('7QKM-3XTR-9BWD-H2CU')).toBeNull();
  });

  it('survive any way of typing them: case, spaces, dashes, O for 0 and I or L for 1', () => {
    const typing = fc.record({
      lower: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
      separators: fc.array(fc.constantFrom('', ' ', '-', '  '), { minLength: 16, maxLength: 16 }),
      lookalike: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
    });
    fc.assert(
      fc.property(typing, ({ lower, separators, lookalike }) => {
        const code = generateActivationCode();
        const typed = [...code.replace(/-/g, '')]
          .map((ch, i) => {
            let out = lookalike[i] ? (ch === '0' ? 'O' : ch === '1' ? 'l' : ch) : ch;
            if (lower[i]) out = out.toLowerCase();
            return separators[i] + out;
          })
          .join('');
        expect(normaliseActivationCode(typed)).toBe(code.replace(/-/g, ''));
      }),
    );
  });

  it('are stored hashed, never in the clear', async () => {
    const identity = await createTestIdentity();
    const rows = await env.DB.prepare('SELECT code_hash FROM activation_codes WHERE sub = ?1').bind(identity.sub).all<{ code_hash: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows.results)).not.toContain(normaliseActivationCode(identity.activation_code));
  });
});

describe('throttle', () => {
  it('counts failures in a fixed window and starts a new one when it is over', async () => {
    const rule = { limit: 3, windowMs: 60_000 };
    const key = `test:${crypto.randomUUID()}`;
    const t0 = 1_800_000_000_000;
    expect(await checkThrottle(env.DB, key, rule, t0)).toEqual({ allowed: true });
    // The window starts at the first failure (t0) and lasts 60 s.
    for (const n of [1, 2, 3]) expect(await recordFailure(env.DB, key, rule, t0 + (n - 1) * 1000)).toBe(n);
    expect(await checkThrottle(env.DB, key, rule, t0 + 30_000)).toEqual({ allowed: false, retryAfterSeconds: 30 });
    expect(await checkThrottle(env.DB, key, rule, t0 + 59_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(await checkThrottle(env.DB, key, rule, t0 + 60_000)).toEqual({ allowed: true });
    expect(await recordFailure(env.DB, key, rule, t0 + 60_000)).toBe(1);
    expect(await checkThrottle(env.DB, key, rule, t0 + 60_001)).toEqual({ allowed: true });
  });
});

/** A random well-formed activation code starting with `prefix` (two characters of the alphabet). */
function withPrefix(prefix: string): string {
  return prefix + generateActivationCode().slice(2);
}

describe('enrolment', () => {
  async function enrol(code: string, publicJwk: unknown, headers: Record<string, string> = address(), name = 'Jana’s Pixel') {
    return post('/api/mobile/enrol', { activation_code: code, public_jwk: publicJwk, name }, headers);
  }

  it('enrols a device with a typed code, consumes the code and audits it', async () => {
    const identity = await createTestIdentity();
    const { publicJwk } = await newKeyPair();
    const typed = identity.activation_code.toLowerCase().replace(/-/g, ' ');
    const res = await enrol(typed, publicJwk);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { device_id: string; sub: string };
    expect(body.sub).toBe(identity.sub);
    const device = await getDevice(env.DB, body.device_id);
    expect(device).toMatchObject({ sub: identity.sub, name: 'Jana’s Pixel', publicJwk, revokedAt: null });
    expect(await auditTypes(identity.sub)).toEqual(['identity.created', 'activation-code.issued', 'enrolment']);
  });

  it('records the browser and OS parsed from the enrolling User-Agent, never the raw header', async () => {
    const android = 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
    const hostile = 'Approve/1.0 (This is your own computer \u202e safe to approve) Evil/2.0';
    const cases: [string, { browser: string | null; os: string | null }][] = [
      [android, { browser: 'Chrome 131', os: 'Android 15' }],
      ['node', { browser: null, os: null }], // Node's fetch: nothing to parse
      [hostile, { browser: null, os: null }],
    ];
    for (const [userAgent, expected] of cases) {
      const identity = await createTestIdentity();
      const res = await enrol(identity.activation_code, (await newKeyPair()).publicJwk, { ...address(), 'User-Agent': userAgent });
      expect(res.status).toBe(201);
      const { device_id } = (await res.json()) as { device_id: string };
      const row = await env.DB.prepare('SELECT * FROM devices WHERE id = ?1').bind(device_id).first<Record<string, unknown>>();
      expect({ browser: row!.browser, os: row!.os }).toEqual(expected);
      expect(JSON.stringify(row)).not.toMatch(/Mozilla|KHTML|Pixel 9|Approve|own computer|Evil|\u202e/);
      const listed = await call(`/admin/identities/${identity.sub}/devices`, { headers: ADMIN });
      expect(((await listed.json()) as { devices: unknown[] }).devices).toEqual([expect.objectContaining({ device_id, ...expected })]);
    }
  });

  it('refuses a second use of the same code and enrols nothing', async () => {
    const identity = await createTestIdentity();
    expect((await enrol(identity.activation_code, (await newKeyPair()).publicJwk)).status).toBe(201);
    const again = await enrol(identity.activation_code, (await newKeyPair()).publicJwk);
    expect(again.status).toBe(409);
    expect(await problemCode(again)).toBe('activation-code-used');
    expect(await listDevices(env.DB, identity.sub)).toHaveLength(1);
  });

  it('two racing requests with one code enrol exactly one device', async () => {
    const identity = await createTestIdentity();
    const [a, b] = await Promise.all([
      enrol(identity.activation_code, (await newKeyPair()).publicJwk),
      enrol(identity.activation_code, (await newKeyPair()).publicJwk),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    expect(await listDevices(env.DB, identity.sub)).toHaveLength(1);
  });

  it('refuses an expired code', async () => {
    const identity = await createTestIdentity();
    const { code } = await issueActivationCode(env.DB, identity.sub, 60, Date.now() - 61_000);
    const res = await enrol(code, (await newKeyPair()).publicJwk);
    expect(res.status).toBe(410);
    expect(await problemCode(res)).toBe('activation-code-expired');
    expect(await listDevices(env.DB, identity.sub)).toHaveLength(0);
  });

  it('a new code replaces the older unused one', async () => {
    const identity = await createTestIdentity();
    const res = await call(`/admin/identities/${identity.sub}/activation-codes`, { method: 'POST', headers: ADMIN });
    expect(res.status).toBe(201);
    const fresh = (await res.json()) as { activation_code: string; expires_at: number };
    expect(fresh.activation_code).not.toBe(identity.activation_code);
    const old = await enrol(identity.activation_code, (await newKeyPair()).publicJwk);
    expect(await problemCode(old)).toBe('invalid-activation-code');
    expect((await enrol(fresh.activation_code, (await newKeyPair()).publicJwk)).status).toBe(201);
  });

  it('refuses a wrong code, well-formed or not', async () => {
    const { publicJwk } = await newKeyPair();
    for (const code of [generateActivationCode(), 'not a code']) {
      const res = await enrol(code, publicJwk);
      expect(res.status).toBe(400);
      expect(await problemCode(res)).toBe('invalid-activation-code');
    }
  });

  it('refuses malformed keys without consuming the code', async () => {
    const identity = await createTestIdentity();
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair;
    const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign'])) as CryptoKeyPair;
    const p384Jwk = await crypto.subtle.exportKey('jwk', p384.publicKey);
    const good = (await newKeyPair()).publicJwk;
    const offCurve = { ...good, y: good.x };
    const cases: [unknown, RegExp][] = [
      [privateJwk, /private key/],
      [p384Jwk, /P-256/],
      [{ kty: 'RSA', n: 'abc', e: 'AQAB' }, /P-256/],
      [{ kty: 'EC', crv: 'P-256', x: 'garbage!', y: 'x' }, /32 bytes/],
      [offCurve, /not a point/],
      ['garbage', /JWK object/],
    ];
    for (const [jwk, detail] of cases) {
      const res = await enrol(identity.activation_code, jwk);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { type: string; detail: string };
      expect(body.type).toBe('urn:mobile-key:problem:invalid-public-key');
      expect(body.detail).toMatch(detail);
    }
    expect(await listDevices(env.DB, identity.sub)).toHaveLength(0);
    expect((await enrol(identity.activation_code, good)).status).toBe(201);
  });

  it('refuses malformed bodies with a problem', async () => {
    const headers = { 'Content-Type': 'application/json', ...address() };
    const bad = await call('/api/mobile/enrol', { method: 'POST', headers, body: '{"activation_code":' });
    expect(await problemCode(bad)).toBe('malformed-json');
    const missing = await post('/api/mobile/enrol', { activation_code: 'X' }, address());
    expect(missing.status).toBe(400);
    expect(await problemCode(missing)).toBe('invalid-input');
    for (const name of ['   ', 'Line\nbreak', 'evil\u202Etxt.exe', 'x'.repeat(65)]) {
      const res = await post('/api/mobile/enrol', { activation_code: 'X', public_jwk: {}, name }, address());
      expect(await problemCode(res)).toBe('invalid-input');
    }
  });

  it('throttles guessing per address and code prefix with 429 and Retry-After, even for the right code', async () => {
    const identity = await createTestIdentity();
    const prefix = identity.activation_code.slice(0, 2);
    const { publicJwk } = await newKeyPair();
    const guesser = address();
    for (let i = 0; i < ENROL_THROTTLE.limit; i++) {
      expect((await enrol(withPrefix(prefix), publicJwk, guesser)).status).toBe(400);
    }
    const blocked = await enrol(identity.activation_code, publicJwk, guesser);
    expect(blocked.status).toBe(429);
    expect(await problemCode(blocked)).toBe('too-many-requests');
    const retryAfter = Number(blocked.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(ENROL_THROTTLE.windowMs / 1000);
    // The code was not consumed, and another address is not affected.
    expect((await enrol(identity.activation_code, publicJwk, address())).status).toBe(201);
  });

  it('a valid code still works at an address where someone guessed many wrong codes (review 7)', async () => {
    const identity = await createTestIdentity();
    const own = identity.activation_code.slice(0, 2);
    const { publicJwk } = await newKeyPair();
    const office = address();
    // Forty wrong codes — four times what used to lock the whole address out — none with the person's prefix.
    let guesses = 0;
    while (guesses < 40) {
      const guess = generateActivationCode();
      if (guess.slice(0, 2) === own) continue;
      expect([400, 429]).toContain((await enrol(guess, publicJwk, office)).status);
      guesses++;
    }
    expect((await enrol('not a code', publicJwk, office)).status).toBe(400);
    expect((await enrol(identity.activation_code, publicJwk, office)).status).toBe(201);
  });

  it('counts an IPv6 network per /64', async () => {
    const { publicJwk } = await newKeyPair();
    const b = crypto.getRandomValues(new Uint16Array(2));
    const net = `2001:db8:${b[0]!.toString(16)}:${b[1]!.toString(16)}`;
    for (let i = 0; i < ENROL_THROTTLE.limit; i++) {
      const ip = { 'CF-Connecting-IP': `${net}:${i}:0:0:${i + 1}` };
      expect((await enrol(withPrefix('7Q'), publicJwk, ip)).status).toBe(400);
    }
    expect((await enrol(withPrefix('7Q'), publicJwk, { 'CF-Connecting-IP': `${net}::beef` })).status).toBe(429);
  });

  it('parallel guesses from one address: exactly the limit are checked, the rest get 429', async () => {
    const { publicJwk } = await newKeyPair();
    const guesser = address();
    const statuses = await Promise.all(
      Array.from({ length: ENROL_THROTTLE.limit * 3 }, () => enrol(withPrefix('K3'), publicJwk, guesser).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 400)).toHaveLength(ENROL_THROTTLE.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(ENROL_THROTTLE.limit * 2);
  });

  it('successful enrolments do not use up the allowance', async () => {
    const { publicJwk } = await newKeyPair();
    const office = address();
    for (let i = 0; i < ENROL_THROTTLE.limit + 2; i++) {
      const identity = await createTestIdentity();
      expect((await enrol(identity.activation_code, publicJwk, office)).status).toBe(201);
    }
    expect((await enrol(generateActivationCode(), publicJwk, office)).status).toBe(400);
  });
});

describe('operator API', () => {
  it('refuses requests without the right bearer token', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic dGVzdA==' }, { Authorization: 'Bearer test-admin-token2' }] as Record<string, string>[]) {
      const res = await post('/admin/identities', { given_name: 'A', family_name: 'B' }, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      expect(await problemCode(res)).toBe('unauthorized');
    }
    const list = await call('/admin/identities/sub_x/devices');
    expect(list.status).toBe(401);
    // An unknown operator path is still a problem, once authorized.
    const unknown = await call('/admin/nothing-here', { headers: ADMIN });
    expect(unknown.status).toBe(404);
    expect(await problemCode(unknown)).toBe('not-found');
  });

  it('creates an identity with its claims and a code that expires after ACTIVATION_CODE_TTL_SECONDS', async () => {
    const before = Date.now();
    const created = await createTestIdentity({
      given_name: 'Jana',
      family_name: 'Nováková',
      birthdate: '1990-04-01',
      email: 'jana@example.cz',
      phone_number: '+420 601 234 567',
      address: { locality: 'Brno', country: 'CZ' },
    });
    expect(created.sub).toMatch(/^sub_[0-9a-f]{32}$/);
    expect(created.activation_url).toBe(`${env.ISSUER}/key/enrol#${created.activation_code}`);
    const ttl = Number(env.ACTIVATION_CODE_TTL_SECONDS) * 1000;
    expect(created.expires_at).toBeGreaterThanOrEqual(before + ttl);
    expect(created.expires_at).toBeLessThanOrEqual(Date.now() + ttl);
    expect((await getIdentity(env.DB, created.sub))?.claims).toMatchObject({ birthdate: '1990-04-01', address: { locality: 'Brno' } });
    const got = await call(`/admin/identities/${created.sub}`, { headers: ADMIN });
    expect(await got.json()).toMatchObject({ sub: created.sub, claims: { given_name: 'Jana', email: 'jana@example.cz' } });
    const found = await call('/admin/identities?email=jana@example.cz', { headers: ADMIN });
    expect(((await found.json()) as { identities: { sub: string }[] }).identities.map((i) => i.sub)).toContain(created.sub);
  });

  it('validates identity input', async () => {
    for (const body of [
      { given_name: 'A' },
      { given_name: 'A', family_name: 'B', birthdate: '1.4.1990' },
      { given_name: 'A', family_name: 'B', email: 'nope' },
      { given_name: 'A', family_name: 'B', unexpected: 1 },
    ]) {
      const res = await post('/admin/identities', body, ADMIN);
      expect(res.status).toBe(400);
      expect(await problemCode(res)).toBe('invalid-input');
    }
  });

  it('unknown identities and devices are 404 problems', async () => {
    const codes = await call('/admin/identities/sub_nobody/activation-codes', { method: 'POST', headers: ADMIN });
    expect(codes.status).toBe(404);
    expect(await problemCode(codes)).toBe('unknown-identity');
    const devices = await call('/admin/identities/sub_nobody/devices', { headers: ADMIN });
    expect(await problemCode(devices)).toBe('unknown-identity');
    const revoke = await call('/admin/devices/dev_nobody/revoke', { method: 'POST', headers: ADMIN });
    expect(revoke.status).toBe(404);
    expect(await problemCode(revoke)).toBe('unknown-device');
  });

  it('lists devices and revokes one idempotently, auditing once', async () => {
    const identity = await createTestIdentity();
    const res = await post('/api/mobile/enrol', { activation_code: identity.activation_code, public_jwk: (await newKeyPair()).publicJwk, name: 'Pixel' }, address());
    const { device_id } = (await res.json()) as { device_id: string };
    const listed = await call(`/admin/identities/${identity.sub}/devices`, { headers: ADMIN });
    expect(await listed.json()).toMatchObject({ sub: identity.sub, devices: [{ device_id, name: 'Pixel', revoked_at: null, last_used_at: null }] });
    const first = await call(`/admin/devices/${device_id}/revoke`, { method: 'POST', headers: ADMIN });
    const revoked = (await first.json()) as { revoked_at: number };
    expect(revoked.revoked_at).toBeGreaterThan(0);
    const second = await call(`/admin/devices/${device_id}/revoke`, { method: 'POST', headers: ADMIN });
    expect(((await second.json()) as { revoked_at: number }).revoked_at).toBe(revoked.revoked_at);
    expect((await auditTypes(identity.sub)).filter((t) => t === 'device.revoked')).toHaveLength(1);
    const audit = await call(`/admin/identities/${identity.sub}/audit`, { headers: ADMIN });
    expect(((await audit.json()) as { events: { type: string }[] }).events[0]!.type).toBe('device.revoked');
  });

  it('registers confidential and public clients through registerClient', async () => {
    const res = await post('/admin/clients', { name: 'Portál občana', redirect_uris: ['https://rp.example/cb'] }, ADMIN);
    expect(res.status).toBe(201);
    const confidential = (await res.json()) as { client_id: string; client_secret: string; public: boolean };
    expect(confidential.client_secret.length).toBeGreaterThanOrEqual(40);
    expect(confidential.public).toBe(false);
    const row = await env.DB.prepare('SELECT name, secret_hash, redirect_uris FROM clients WHERE client_id = ?1').bind(confidential.client_id).first<{ name: string; secret_hash: string; redirect_uris: string }>();
    expect(row).toMatchObject({ name: 'Portál občana', redirect_uris: '["https://rp.example/cb"]' });
    expect(row!.secret_hash).not.toContain(confidential.client_secret);

    const pub = await post('/admin/clients', { name: 'SPA', redirect_uris: ['http://localhost:5173/cb', 'https://spa.example/cb'], public: true }, ADMIN);
    const body = (await pub.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ public: true, redirect_uris: ['http://localhost:5173/cb', 'https://spa.example/cb'] });
    expect(body).not.toHaveProperty('client_secret');

    for (const bad of [
      { name: 'X', redirect_uris: [] },
      { name: 'X', redirect_uris: ['not a url'] },
      { name: 'X', redirect_uris: ['https://rp.example/cb#frag'] },
    ]) {
      const refused = await post('/admin/clients', bad, ADMIN);
      expect(refused.status).toBe(400);
      expect(await problemCode(refused)).toBe('invalid-input');
    }
  });
});
