import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { bindingCookieName } from '../../src/session/binding.ts';
import { randomToken, sha256Hex } from '../../src/session/crypto.ts';
import { loginStub, unwrap } from '../../src/session/stub.ts';
import { parseLoginUrl, signDeviceMessage, signedMessage, type ConsentChoice, type SignedAction } from '../../src/mobile/protocol.ts';

/** The origin every v2 signature of these tests names (the issuer's). */
export const ORIGIN = new URL(env.ISSUER).origin;
import type { DeviceKey, LoginSnapshot, StartLogin } from '../../src/session/types.ts';

export const BASE = 'http://localhost:8787';

/** Calls the exported worker as a browser would. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(new URL(path, BASE), init));
}

export interface TestLogin {
  id: string;
  /** The first snapshot's QR frame (static: accepted for 8 s, src/session/rotation.ts). */
  frame: string;
  /** The same-device launch token as a frame (`l.<token>`, single use). */
  launch: string;
  cookie: string;
  stub: ReturnType<typeof loginStub>;
  snapshot: LoginSnapshot;
}

/** Starts a login directly on a fresh object, as the authorization endpoint does. */
export async function startTestLogin(overrides: Partial<StartLogin> = {}): Promise<TestLogin> {
  const id = env.LOGIN_SESSION.newUniqueId().toString();
  const value = randomToken(32);
  const stub = loginStub(env, id);
  const snapshot = unwrap(
    await stub.start({
      bindingHash: await sha256Hex(value),
      validitySeconds: 180,
      client: { id: 'demo', name: 'Demo Service' },
      claims: ['given_name', 'family_name'],
      requester: { country: 'CZ', city: 'Brno', browser: 'Chrome 156', os: 'Linux' },
      locale: 'cs',
      authorization: { client_id: 'demo' },
      ...overrides,
    }),
  );
  const parsed = parseLoginUrl(snapshot.loginUrl!);
  expect(parsed?.loginId).toBe(id);
  const launch = parseLoginUrl(snapshot.launchUrl!)!.frame;
  return { id, frame: parsed!.frame, launch, cookie: `${bindingCookieName(id)}=${value}`, stub, snapshot };
}

export interface TestDevice extends DeviceKey {
  privateKey: CryptoKey;
}

/** A freshly generated P-256 device key (not enrolled in D1: the session trusts what it is given). */
export async function testDevice(name = 'Test phone', sub = 'sub-test'): Promise<TestDevice> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { id: `dev_${randomToken(9)}`, sub, name, publicJwk, privateKey: pair.privateKey };
}

/**
 * Signs the canonical (v2) message for an action on a login of this issuer.
 * @param answer an answer's `number` and `consent`, as its body will carry them (they are signed).
 */
export function sign(
  device: TestDevice,
  action: SignedAction,
  loginId: string,
  nonce?: string,
  answer: { number?: number; consent?: ConsentChoice } = {},
): Promise<string> {
  return signDeviceMessage(
    device.privateKey,
    signedMessage({ origin: ORIGIN, action, loginId, deviceId: device.id, ...(nonce ? { nonce } : {}), ...answer }),
  );
}

export function deviceKey(device: TestDevice): DeviceKey {
  return { id: device.id, sub: device.sub, name: device.name, publicJwk: device.publicJwk };
}

/** Scans a login with a device; returns the nonce for the answer. */
export async function scanAs(login: TestLogin, device: TestDevice): Promise<string> {
  const result = await login.stub.scan({
    frame: login.frame,
    device: deviceKey(device),
    signature: await sign(device, 'scan', login.id),
  });
  return unwrap(result).nonce;
}

export async function answerAs(login: TestLogin, device: TestDevice, decision: 'approve' | 'deny', nonce: string) {
  return login.stub.answer({
    device: deviceKey(device),
    decision,
    nonce,
    signature: await sign(device, decision, login.id, nonce),
  });
}

/** A page's WebSocket with a queue of received snapshots and a bounded wait. */
export interface PageSocket {
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  send(data: string | ArrayBuffer): void;
  close(): void;
}

/** Opens the page WebSocket for a login through the worker; fails the test if refused. */
export async function openPage(id: string, cookie: string): Promise<PageSocket> {
  const res = await call(`/login/${id}/ws`, { headers: { Upgrade: 'websocket', Cookie: cookie } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data as string) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  ws.accept();
  return {
    next(timeoutMs = 2000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no WebSocket message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    },
    send: (data) => ws.send(data),
    close: () => ws.close(1000, 'done'),
  };
}

/** Moves a login's deadline into the past by rewriting its stored record (the alarm then expires it). */
export async function expireNow(login: TestLogin): Promise<void> {
  await runInDurableObject(login.stub, async (_instance, state) => {
    const record = (await state.storage.get<{ expiresAt: number }>('login'))!;
    await state.storage.put('login', { ...record, expiresAt: Date.now() - 1 });
  });
}

/**
 * Everything bad input must not change, as one comparable string: D1 rows (throttle counters
 * aside), the list of login objects, and the storage of the given logins.
 */
export async function world(logins: TestLogin[]): Promise<string> {
  const tables = ['identities', 'devices', 'activation_codes', 'clients', 'audit_events'];
  const rows = await Promise.all(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()));
  const ids = (await listDurableObjectIds(env.LOGIN_SESSION)).map((id) => id.toString()).sort();
  const storage = await Promise.all(
    logins.map((l) => runInDurableObject(l.stub, async (_i, state) => [...(await state.storage.list()).entries()])),
  );
  return JSON.stringify({ rows: rows.map((r) => r.results), ids, storage });
}
