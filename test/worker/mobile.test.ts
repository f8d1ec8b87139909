import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getDevice } from '../../src/identity/devices.ts';
import { sha256Hex } from '../../src/session/crypto.ts';
import { unwrap } from '../../src/session/stub.ts';
import { decideLogin, MobileKeyError } from '../../cli/lib/mobile-client.ts';
import { call, expireNow, sign, startTestLogin, testDevice, type TestDevice, type TestLogin } from './helpers.ts';
import { auditTypes, enrolTestDevice, keyStoreOf, post, problemCode, revoke } from './identity-helpers.ts';

async function scan(login: TestLogin, device: TestDevice, overrides: Record<string, unknown> = {}) {
  return post(`/api/mobile/logins/${login.id}/scan`, {
    version: 2,
    frame: login.frame,
    device_id: device.id,
    signature: await sign(device, 'scan', login.id),
    ...overrides,
  });
}

async function scanOk(login: TestLogin, device: TestDevice): Promise<string> {
  const res = await scan(login, device);
  expect(res.status).toBe(200);
  return ((await res.json()) as { nonce: string }).nonce;
}

async function answerBody(login: TestLogin, device: TestDevice, decision: 'approve' | 'deny', nonce: string) {
  return { version: 2, device_id: device.id, decision, nonce, signature: await sign(device, decision, login.id, nonce) };
}

function answer(login: TestLogin, body: Record<string, unknown>) {
  return post(`/api/mobile/logins/${login.id}/answer`, body);
}

async function stateOf(login: TestLogin): Promise<string> {
  const value = login.cookie.slice(login.cookie.indexOf('=') + 1);
  return unwrap(await login.stub.read(await sha256Hex(value))).state;
}

describe('what the phone is told will be released', () => {
  it('lists only the requested claims this person has a value for (name derived from given and family name)', async () => {
    const phone = await enrolTestDevice('Pixel');
    const login = await startTestLogin({
      claims: ['name', 'given_name', 'family_name', 'middle_name', 'birthdate', 'gender', 'email', 'email_verified'],
    });
    const context = (await (await scan(login, phone)).json()) as { claims: string[] };
    // The test identity holds only given_name and family_name.
    expect(context.claims).toEqual(['name', 'given_name', 'family_name']);
  });
});

describe('scan → approve over HTTP with a real signature', () => {
  it('shows the context, approves, tells the page, audits once and records use', async () => {
    const phone = await enrolTestDevice('Jana’s Pixel');
    const login = await startTestLogin();
    const before = Date.now();
    const res = await scan(login, phone);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const context = (await res.json()) as Record<string, unknown>;
    expect(context).toMatchObject({
      login_id: login.id,
      state: 'scanned',
      client: { id: 'demo', name: 'Demo Service' },
      claims: ['given_name', 'family_name'],
      requester: { country: 'CZ', city: 'Brno', browser: 'Chrome 156', os: 'Linux' },
      expires_at: login.snapshot.expiresAt,
    });
    expect(login.snapshot.expiresAt - (context.created_at as number)).toBe(180_000);
    expect(context.now).toBeGreaterThanOrEqual(before);
    expect(context.nonce).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(await stateOf(login)).toBe('scanned');
    // Scanning again with the same device (a retry) returns the same nonce.
    const rescan = (await (await scan(login, phone)).json()) as Record<string, unknown>;
    expect(rescan.nonce).toBe(context.nonce);

    const approved = await answer(login, await answerBody(login, phone, 'approve', context.nonce as string));
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({ status: 'approved', client_id: 'demo', client_name: 'Demo Service', sub: phone.sub });
    expect(await stateOf(login)).toBe('approved');
    expect(await auditTypes(phone.sub)).toEqual(['identity.created', 'activation-code.issued', 'enrolment', 'login.approved']);
    const audit = await env.DB.prepare("SELECT device_id, client_id, detail FROM audit_events WHERE sub = ?1 AND type = 'login.approved'").bind(phone.sub).first();
    expect(audit).toEqual({ device_id: phone.id, client_id: 'demo', detail: JSON.stringify({ login_id: login.id }) });
    expect((await getDevice(env.DB, phone.id))?.lastUsedAt).toBeGreaterThanOrEqual(before);
  });

  it('a deny is recorded as denied and audited as login.denied', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const res = await answer(login, await answerBody(login, phone, 'deny', await scanOk(login, phone)));
    expect(await res.json()).toMatchObject({ status: 'denied', client_name: 'Demo Service' });
    expect(await stateOf(login)).toBe('denied');
    expect((await auditTypes(phone.sub)).at(-1)).toBe('login.denied');
  });

  it('the reference client core (used by the key CLI) approves through the worker', async () => {
    const phone = await enrolTestDevice();
    const store = await keyStoreOf(phone);
    const fetch = (input: string, init?: RequestInit) => call(input, init);
    const login = await startTestLogin();
    const shown: string[] = [];
    const result = await decideLogin({
      loginUrl: login.snapshot.loginUrl!,
      store,
      decision: 'approve',
      confirm: async (context) => {
        shown.push(context.client.name);
        return true;
      },
      fetch,
    });
    expect(shown).toEqual(['Demo Service']);
    expect(result).toMatchObject({ status: 'approved', client_name: 'Demo Service', sub: phone.sub, login_id: login.id });
    expect(await stateOf(login)).toBe('approved');

    // Saying no at the prompt sends a signed deny.
    const second = await startTestLogin();
    const refused = await decideLogin({ loginUrl: second.snapshot.loginUrl!, store, decision: 'approve', confirm: async () => false, fetch });
    expect(refused.status).toBe('denied');
    expect(await stateOf(second)).toBe('denied');

    // A login that already ended: a clear error with the server's code.
    const error = await decideLogin({ loginUrl: login.snapshot.loginUrl!, store, decision: 'deny', fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MobileKeyError);
    expect((error as MobileKeyError).code).toBe('login-decided');
  });
});

describe('refusals change nothing', () => {
  it('an unknown device is 404 unknown-device', async () => {
    const stranger = await testDevice(); // a valid key that was never enrolled
    const login = await startTestLogin();
    const res = await scan(login, stranger);
    expect(res.status).toBe(404);
    expect(await problemCode(res)).toBe('unknown-device');
    expect(await stateOf(login)).toBe('pending');
  });

  it('a revoked device can neither scan nor answer', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const nonce = await scanOk(login, phone);
    await revoke(phone.id);
    const res = await answer(login, await answerBody(login, phone, 'approve', nonce));
    expect(res.status).toBe(403);
    expect(await problemCode(res)).toBe('device-revoked');
    expect(await stateOf(login)).toBe('scanned');
    const other = await startTestLogin();
    const refused = await scan(other, phone);
    expect(await problemCode(refused)).toBe('device-revoked');
    expect(await stateOf(other)).toBe('pending');
    expect(await auditTypes(phone.sub)).not.toContain('login.approved');
  });

  it('a second device can neither claim nor answer a login another device scanned', async () => {
    const [owner, other] = [await enrolTestDevice('Owner'), await enrolTestDevice('Other')];
    const login = await startTestLogin();
    const nonce = await scanOk(login, owner);
    const claim = await scan(login, other);
    expect(claim.status).toBe(409);
    expect(await problemCode(claim)).toBe('login-claimed');
    // Even knowing the nonce, and with a valid signature of its own:
    const res = await answer(login, await answerBody(login, other, 'approve', nonce));
    expect(res.status).toBe(403);
    expect(await problemCode(res)).toBe('wrong-device');
    expect(await stateOf(login)).toBe('scanned');
  });

  it('bad signatures are refused: garbage, another key, the wrong action', async () => {
    const phone = await enrolTestDevice();
    const impostor = await testDevice();
    const login = await startTestLogin();
    for (const signature of ['garbage', 'A'.repeat(86), await sign({ ...impostor, id: phone.id }, 'scan', login.id)]) {
      const res = await scan(login, phone, { signature });
      expect(res.status).toBe(401);
      expect(await problemCode(res)).toBe('invalid-signature');
    }
    expect(await stateOf(login)).toBe('pending');
    const nonce = await scanOk(login, phone);
    const forged = { ...(await answerBody(login, phone, 'approve', nonce)), signature: await sign({ ...impostor, id: phone.id }, 'approve', login.id, nonce) };
    expect(await problemCode(await answer(login, forged))).toBe('invalid-signature');
    // A deny signature presented as an approval.
    const swapped = { ...(await answerBody(login, phone, 'deny', nonce)), decision: 'approve' };
    expect(await problemCode(await answer(login, swapped))).toBe('invalid-signature');
    expect(await stateOf(login)).toBe('scanned');
  });

  it('a replayed answer changes nothing and is audited once; another decision is refused', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const body = await answerBody(login, phone, 'approve', await scanOk(login, phone));
    expect((await answer(login, body)).status).toBe(200);
    const replay = await answer(login, body);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { status: string }).status).toBe('approved');
    expect((await auditTypes(phone.sub)).filter((t) => t.startsWith('login.'))).toEqual(['login.approved']);
    const deny = await answer(login, await answerBody(login, phone, 'deny', body.nonce));
    expect(deny.status).toBe(409);
    expect(await problemCode(deny)).toBe('login-decided');
    expect(await stateOf(login)).toBe('approved');
  });

  it('a signature from another login cannot be moved to this one', async () => {
    const phone = await enrolTestDevice();
    const [first, second] = [await startTestLogin(), await startTestLogin()];
    const firstNonce = await scanOk(first, phone);
    const secondNonce = await scanOk(second, phone);
    const fromFirst = await answerBody(first, phone, 'approve', firstNonce);
    for (const nonce of [firstNonce, secondNonce]) {
      const res = await answer(second, { ...fromFirst, nonce });
      expect(res.status).toBe(401);
      expect(await problemCode(res)).toBe('invalid-signature');
    }
    // The scan signature of one login does not claim another.
    const moved = await scan(second, phone, { signature: await sign(phone, 'scan', first.id) });
    expect(await problemCode(moved)).toBe('invalid-signature');
    expect(await stateOf(second)).toBe('scanned');
    expect(await stateOf(first)).toBe('scanned');
  });

  it('an answer with a stale nonce is refused', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    await scanOk(login, phone);
    const res = await answer(login, await answerBody(login, phone, 'approve', 'stale-nonce-000000'));
    expect(res.status).toBe(400);
    expect(await problemCode(res)).toBe('invalid-nonce');
    expect(await stateOf(login)).toBe('scanned');
  });

  it('an answer after expiry is refused with login-expired', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const nonce = await scanOk(login, phone);
    await expireNow(login);
    const res = await answer(login, await answerBody(login, phone, 'approve', nonce));
    expect(res.status).toBe(410);
    expect(await problemCode(res)).toBe('login-expired');
    expect(await stateOf(login)).toBe('expired');

    // And after the alarm has expired it.
    const other = await startTestLogin();
    const otherNonce = await scanOk(other, phone);
    await expireNow(other);
    expect(await runDurableObjectAlarm(other.stub)).toBe(true);
    expect(await problemCode(await answer(other, await answerBody(other, phone, 'approve', otherNonce)))).toBe('login-expired');
    expect(await problemCode(await scan(other, phone))).toBe('login-expired');
    expect((await auditTypes(phone.sub)).some((t) => t.startsWith('login.'))).toBe(false);
  });

  it('an answer after a denial is refused', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const nonce = await scanOk(login, phone);
    expect((await answer(login, await answerBody(login, phone, 'deny', nonce))).status).toBe(200);
    const res = await answer(login, await answerBody(login, phone, 'approve', nonce));
    expect(res.status).toBe(409);
    expect(await problemCode(res)).toBe('login-decided');
    expect(await stateOf(login)).toBe('denied');
  });

  it('an answer before a scan is refused', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const res = await answer(login, await answerBody(login, phone, 'approve', 'nonce-before-scan'));
    expect(res.status).toBe(409);
    expect(await problemCode(res)).toBe('login-not-scanned');
  });

  it('a wrong QR secret or an unknown login id is 404; malformed bodies are 400', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    expect(await problemCode(await scan(login, phone, { frame: `r0.${'W'.repeat(22)}` }))).toBe('not-found');
    const unknown = await post(`/api/mobile/logins/${'0'.repeat(64)}/scan`, { version: 2, frame: login.frame, device_id: phone.id, signature: 'x' });
    expect(unknown.status).toBe(404);
    expect((await post('/api/mobile/logins/nope/scan', {})).status).toBe(404);
    for (const body of [{ version: 2 }, { version: 2, frame: login.frame, device_id: phone.id }, { version: 2, frame: 1, device_id: phone.id, signature: 'x' }]) {
      const res = await post(`/api/mobile/logins/${login.id}/scan`, body);
      expect(res.status).toBe(400);
      expect(await problemCode(res)).toBe('invalid-input');
    }
    const badDecision = await answer(login, { ...(await answerBody(login, phone, 'approve', 'n')), decision: 'maybe' });
    expect(await problemCode(badDecision)).toBe('invalid-input');
    const text = await call(`/api/mobile/logins/${login.id}/scan`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(await problemCode(text)).toBe('unsupported-media-type');
    expect(await stateOf(login)).toBe('pending');
  });
});
