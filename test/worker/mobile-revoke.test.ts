import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getDevice } from '../../src/identity/devices.ts';
import {
  isRevocationTimely,
  REVOCATION_WINDOW_MS,
  revocationMessage,
  signDeviceMessage,
  signedMessage,
} from '../../src/mobile/protocol.ts';
import { revokeOwnDevice, MobileKeyError } from '../../cli/lib/mobile-client.ts';
import { ADMIN, auditTypes, enrolTestDevice, keyStoreOf, post, problemCode } from './identity-helpers.ts';
import { call, ORIGIN, sign, startTestLogin, testDevice, type TestDevice } from './helpers.ts';

/** A device's signed revocation body, at `timestamp` (its clock, epoch milliseconds). */
async function revocation(device: TestDevice, timestamp = Date.now()) {
  return { version: 2, timestamp, signature: await signDeviceMessage(device.privateKey, revocationMessage({ origin: ORIGIN, deviceId: device.id, timestamp })) };
}

function revoke(deviceId: string, body: unknown) {
  return post(`/api/mobile/devices/${deviceId}/revoke`, body);
}

async function revokedAt(deviceId: string): Promise<number | null> {
  return (await getDevice(env.DB, deviceId))!.revokedAt;
}

async function revocationAudits(sub: string) {
  const { results } = await env.DB.prepare("SELECT device_id, detail FROM audit_events WHERE sub = ?1 AND type = 'device.revoked' ORDER BY id")
    .bind(sub)
    .all<{ device_id: string; detail: string | null }>();
  return results.map((r) => ({ device_id: r.device_id, detail: r.detail && (JSON.parse(r.detail) as unknown) }));
}

describe('revocationMessage and its time window', () => {
  it('builds the six lines with the origin, "-" for the login and the timestamp in decimal', () => {
    const bytes = revocationMessage({ origin: 'https://login.example.cz', deviceId: 'dev_Vq3mZx8Kc1LpR2sT', timestamp: 1795941612000 });
    expect(new TextDecoder().decode(bytes)).toBe('mobile-key-v2\nhttps://login.example.cz\nrevoke\n-\n1795941612000\ndev_Vq3mZx8Kc1LpR2sT');
  });

  it('refuses timestamps that are not positive integers and device ids outside the field alphabet', () => {
    for (const timestamp of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => revocationMessage({ origin: ORIGIN, deviceId: 'dev_x', timestamp })).toThrow(TypeError);
    }
    expect(() => revocationMessage({ origin: ORIGIN, deviceId: 'dev\nx', timestamp: 1 })).toThrow(TypeError);
  });

  it('accepts exactly ±5 minutes around the server clock and nothing beyond', () => {
    const now = 1_795_941_612_000;
    expect(REVOCATION_WINDOW_MS).toBe(300_000);
    expect(isRevocationTimely(now, now)).toBe(true);
    expect(isRevocationTimely(now - 300_000, now)).toBe(true);
    expect(isRevocationTimely(now + 300_000, now)).toBe(true);
    expect(isRevocationTimely(now - 300_001, now)).toBe(false);
    expect(isRevocationTimely(now + 300_001, now)).toBe(false);
  });

  it('is never the bytes of a login message, whatever the ids', () => {
    const revokeText = new TextDecoder().decode(revocationMessage({ origin: ORIGIN, deviceId: 'dev_a', timestamp: 1 }));
    for (const action of ['scan', 'approve', 'deny'] as const) {
      const text = new TextDecoder().decode(signedMessage({ origin: ORIGIN, action, loginId: 'a'.repeat(64), deviceId: 'dev_a', nonce: 'n' }));
      expect(text.split('\n')[2]).not.toBe('revoke');
      expect(text).not.toBe(revokeText);
    }
  });
});

describe('POST /api/mobile/devices/:id/revoke', () => {
  it('revokes the device with its own signature, audits {by: device}, and the device can no longer scan', async () => {
    const phone = await enrolTestDevice();
    const before = Date.now();
    const res = await revoke(phone.id, await revocation(phone));
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as { device_id: string; revoked_at: number };
    expect(body).toEqual({ device_id: phone.id, revoked_at: expect.any(Number) });
    expect(body.revoked_at).toBeGreaterThanOrEqual(before);
    expect(await revokedAt(phone.id)).toBe(body.revoked_at);
    expect(await revocationAudits(phone.sub)).toEqual([{ device_id: phone.id, detail: { by: 'device' } }]);

    // The operator sees it revoked.
    const listed = await call(`/admin/identities/${phone.sub}/devices`, { headers: ADMIN });
    expect(((await listed.json()) as { devices: { revoked_at: number }[] }).devices).toMatchObject([{ revoked_at: body.revoked_at }]);

    const login = await startTestLogin();
    const scan = await post(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame: login.frame, device_id: phone.id, signature: await sign(phone, 'scan', login.id) });
    expect(scan.status).toBe(403);
    expect(await problemCode(scan)).toBe('device-revoked');
  });

  it('is idempotent: a repeat (the same body, or a new signature) answers the first revoked_at and audits once', async () => {
    const phone = await enrolTestDevice();
    const body = await revocation(phone);
    const first = (await (await revoke(phone.id, body)).json()) as { revoked_at: number };
    const replay = await revoke(phone.id, body);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ device_id: phone.id, revoked_at: first.revoked_at });
    const fresh = await revoke(phone.id, await revocation(phone, Date.now() + 1000));
    expect(await fresh.json()).toEqual({ device_id: phone.id, revoked_at: first.revoked_at });
    expect((await auditTypes(phone.sub)).filter((t) => t === 'device.revoked')).toHaveLength(1);
  });

  it('after an operator revocation answers the operator’s revoked_at and keeps the operator’s audit event alone', async () => {
    const phone = await enrolTestDevice();
    const byOperator = await call(`/admin/devices/${phone.id}/revoke`, { method: 'POST', headers: ADMIN });
    const operatorAt = ((await byOperator.json()) as { revoked_at: number }).revoked_at;
    const res = await revoke(phone.id, await revocation(phone));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ device_id: phone.id, revoked_at: operatorAt });
    expect(await revocationAudits(phone.sub)).toEqual([{ device_id: phone.id, detail: null }]);
  });

  it('an unknown device is 404 unknown-device', async () => {
    const stranger = await testDevice(); // a valid key and id that were never enrolled
    const res = await revoke(stranger.id, await revocation(stranger));
    expect(res.status).toBe(404);
    expect(await problemCode(res)).toBe('unknown-device');
  });

  it('a signature by another key, or by another enrolled device, is 401 and revokes nothing', async () => {
    const phone = await enrolTestDevice('Owner');
    const other = await enrolTestDevice('Other');
    const impostor = await testDevice();
    const bodies = [
      await revocation({ ...impostor, id: phone.id }), // the right message, the wrong key
      await revocation(other), // another device's own revocation, sent for this device
      await revocation({ ...other, id: phone.id }), // another enrolled device's key over this device's message
      { version: 2, timestamp: Date.now(), signature: 'A'.repeat(86) },
      { version: 2, timestamp: Date.now(), signature: 'garbage' },
    ];
    for (const body of bodies) {
      const res = await revoke(phone.id, body);
      expect(res.status).toBe(401);
      expect(await problemCode(res)).toBe('invalid-signature');
    }
    // A login signature of the device is not a revocation either.
    const login = await startTestLogin();
    const scanSignature = await sign(phone, 'scan', login.id);
    expect(await problemCode(await revoke(phone.id, { version: 2, timestamp: Date.now(), signature: scanSignature }))).toBe('invalid-signature');
    // A revocation signed for one timestamp does not cover another.
    const signed = await revocation(phone);
    expect(await problemCode(await revoke(phone.id, { ...signed, timestamp: signed.timestamp + 1 }))).toBe('invalid-signature');

    expect(await revokedAt(phone.id)).toBeNull();
    expect(await revokedAt(other.id)).toBeNull();
    expect(await auditTypes(phone.sub)).not.toContain('device.revoked');
  });

  it('a stale or future timestamp is 400 timestamp-out-of-window with the server clock, and revokes nothing', async () => {
    const phone = await enrolTestDevice();
    for (const offset of [-REVOCATION_WINDOW_MS - 60_000, REVOCATION_WINDOW_MS + 60_000, -86_400_000]) {
      const before = Date.now();
      const res = await revoke(phone.id, await revocation(phone, Date.now() + offset));
      expect(res.status).toBe(400);
      const problem = (await res.clone().json()) as { now: number; detail: string };
      expect(await problemCode(res)).toBe('timestamp-out-of-window');
      expect(problem.now).toBeGreaterThanOrEqual(before);
      expect(problem.detail).toMatch(/5 minutes/);
    }
    expect(await revokedAt(phone.id)).toBeNull();
    // Within the window on either side it works.
    expect((await revoke(phone.id, await revocation(phone, Date.now() + REVOCATION_WINDOW_MS - 10_000))).status).toBe(200);
  });

  it('malformed bodies are 4xx problems and change nothing', async () => {
    const phone = await enrolTestDevice();
    const good = await revocation(phone);
    const invalid = [
      { version: 2 },
      { version: 2, signature: good.signature },
      { version: 2, timestamp: good.timestamp },
      { ...good, timestamp: String(good.timestamp) },
      { ...good, timestamp: good.timestamp + 0.5 },
      { ...good, timestamp: -good.timestamp },
      { ...good, timestamp: 0 },
      { ...good, signature: '' },
      { ...good, signature: 7 },
      { ...good, signature: 'x'.repeat(300) },
      [good],
      null,
    ];
    for (const body of invalid) {
      const res = await revoke(phone.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await problemCode(res)).toBe('invalid-input');
    }
    const path = `/api/mobile/devices/${phone.id}/revoke`;
    const notJson = await call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"timestamp":' });
    expect(notJson.status).toBe(400);
    expect(await problemCode(notJson)).toBe('malformed-json');
    const text = await call(path, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(good) });
    expect(text.status).toBe(415);
    expect(await problemCode(text)).toBe('unsupported-media-type');
    const huge = await call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...good, pad: 'x'.repeat(20_000) }) });
    expect(huge.status).toBe(413);
    expect(await problemCode(huge)).toBe('payload-too-large');
    // A device id that could never be enrolled is simply unknown.
    expect(await problemCode(await revoke('dev%0Aevil', good))).toBe('unknown-device');
    expect(await revokedAt(phone.id)).toBeNull();
    expect(await auditTypes(phone.sub)).not.toContain('device.revoked');
  });

  it('the reference client core (used by the key CLI) revokes its key, and refuses with the server’s code', async () => {
    const phone = await enrolTestDevice();
    const store = await keyStoreOf(phone);
    const fetch = (input: string, init?: RequestInit) => call(input, init);
    const result = await revokeOwnDevice({ server: store.server, store, fetch });
    expect(result).toEqual({ device_id: phone.id, revoked_at: await revokedAt(phone.id) });

    // A phone whose clock is an hour off signs again with the server's clock from the problem.
    const late = await enrolTestDevice();
    const lateStore = await keyStoreOf(late);
    const skewed = await revokeOwnDevice({ server: store.server, store: lateStore, fetch, clock: () => Date.now() - 3_600_000 });
    expect(skewed.revoked_at).toBe(await revokedAt(late.id));

    const error = await revokeOwnDevice({ server: store.server, store: { ...store, device_id: 'dev_neverEnrolled' }, fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MobileKeyError);
    expect((error as MobileKeyError).code).toBe('unknown-device');
  });
});
