import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logLine } from '../../src/lib/log.ts';
import { errorMetric, loginMetric } from '../../src/lib/metrics.ts';
import { observedOutcome } from '../../src/session/observe.ts';
import { call } from './helpers.ts';
import { ADMIN, address, createTestIdentity, newKeyPair, post } from './identity-helpers.ts';
import { issuedCode, newClient, newPerson, token } from './oidc-support.ts';

/** Every JSON log line written while `run` ran (console.log and console.error). */
async function logsOf(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  vi.spyOn(console, 'log').mockImplementation(capture);
  vi.spyOn(console, 'error').mockImplementation(capture);
  await run();
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

afterEach(() => vi.restoreAllMocks());

describe('structured logs', () => {
  it('writes one JSON line with the known fields only', () => {
    const line = logLine('login.approved', { outcome: 'approved', login_id: 'abc', duration_ms: 1200, secret: 'x', code: 'y' } as never, 0);
    expect(JSON.parse(line)).toEqual({ at: '1970-01-01T00:00:00.000Z', event: 'login.approved', outcome: 'approved', login_id: 'abc', duration_ms: 1200 });
    expect(line).not.toContain('\n');
  });

  it('a login logs started, approved and redeemed with its ids and durations, never its code or secrets', async () => {
    const tc = await newClient();
    const person = await newPerson();
    let code = '';
    let accessToken = '';
    const logs = await logsOf(async () => {
      const issued = await issuedCode(tc, person.sub);
      code = issued.code;
      const redeemed = await token(
        { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: issued.codeVerifier, client_id: tc.client.client_id, client_secret: tc.secret! },
      );
      expect(redeemed.res.status).toBe(200);
      accessToken = String(redeemed.body.access_token);
    });
    const events = logs.map((l) => l.event);
    expect(events).toEqual(expect.arrayContaining(['login.started', 'login.approved', 'code.redeemed']));
    const approved = logs.find((l) => l.event === 'login.approved')!;
    expect(approved).toMatchObject({ outcome: 'approved', client_id: tc.client.client_id, login_id: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(approved.duration_ms).toBeGreaterThanOrEqual(0);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(code);
    expect(text).not.toContain(accessToken);
    expect(text).not.toContain(tc.secret!);

    // The start is in the audit too, for the console's figures.
    const started = await env.DB.prepare("SELECT client_id, detail FROM audit_events WHERE type = 'login.started' AND json_extract(detail, '$.login_id') = ?1")
      .bind(approved.login_id)
      .first<{ client_id: string }>();
    expect(started?.client_id).toBe(tc.client.client_id);
  });

  it('enrolment and revocation are logged without the activation code', async () => {
    const identity = await createTestIdentity();
    const keys = await newKeyPair();
    let deviceId = '';
    const logs = await logsOf(async () => {
      const res = await post('/api/mobile/enrol', { activation_code: identity.activation_code, public_jwk: keys.publicJwk, name: 'Phone' }, address());
      expect(res.status).toBe(201);
      deviceId = ((await res.json()) as { device_id: string }).device_id;
      expect((await call(`/admin/devices/${deviceId}/revoke`, { method: 'POST', headers: ADMIN })).status).toBe(200);
    });
    expect(logs.find((l) => l.event === 'enrolment')).toMatchObject({ outcome: 'ok', sub: identity.sub, device_id: deviceId });
    expect(logs.find((l) => l.event === 'device.revoked')).toMatchObject({ outcome: 'by-operator', sub: identity.sub, device_id: deviceId });
    expect(JSON.stringify(logs)).not.toContain(identity.activation_code);
  });

  it('a refused request is logged and counted by its error code', async () => {
    const logs = await logsOf(async () => {
      const res = await call('/admin/identities', { headers: { Authorization: 'Bearer wrong' } });
      expect(res.status).toBe(401);
    });
    const error = logs.find((l) => l.event === 'error')!;
    expect(error).toMatchObject({ status: 401, path: '/admin/identities', method: 'GET' });
    expect(typeof error.error).toBe('string');
    expect(JSON.stringify(logs)).not.toContain('wrong');
  });

  it('the Analytics Engine binding of wrangler.toml accepts the data points', () => {
    expect(() => loginMetric(env, 'approved', 'demo', 1500)).not.toThrow();
    const points: AnalyticsEngineDataPoint[] = [];
    const fake = { METRICS: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p!) } };
    loginMetric(fake, 'approved', 'demo', 1500);
    errorMetric(fake, 'unauthorized', 401);
    errorMetric({ METRICS: { writeDataPoint: () => { throw new Error('down'); } } }, 'x', 500);
    expect(points).toEqual([
      { blobs: ['login', 'approved', 'demo'], doubles: [1, 1500], indexes: ['demo'] },
      { blobs: ['error', 'unauthorized', '401'], doubles: [1], indexes: ['unauthorized'] },
    ]);
  });
});

describe('observedOutcome', () => {
  const base = { state: 'pending' as const, createdAt: 1000, expiresAt: 181_000 };
  it('names starts, decisions, expiry and redemption, with ms since the start', () => {
    expect(observedOutcome(undefined, base)).toEqual({ outcome: 'started', durationMs: 0 });
    expect(observedOutcome(base, { ...base, state: 'scanned', scannedAt: 2000 })).toBeNull();
    expect(observedOutcome({ ...base, state: 'scanned' }, { ...base, state: 'approved', endedAt: 4000 })).toEqual({ outcome: 'approved', durationMs: 3000 });
    expect(observedOutcome(base, { ...base, state: 'expired', endedAt: 181_000 })).toEqual({ outcome: 'expired', durationMs: 180_000 });
    const approved = { ...base, state: 'approved' as const, endedAt: 4000 };
    expect(observedOutcome(approved, { ...approved, redeemedAt: 5000 })).toEqual({ outcome: 'redeemed', durationMs: 4000 });
  });
});

