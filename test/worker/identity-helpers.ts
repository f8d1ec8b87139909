import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { KeyStore } from '../../cli/lib/mobile-client.ts';
import { randomToken } from '../../src/session/crypto.ts';
import { call, type TestDevice } from './helpers.ts';

/** The admin token the worker tests run with (vitest.config.ts). */
export const ADMIN = { Authorization: 'Bearer test-admin-token' };

/** Calls the worker with a JSON body. */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** A problem response's `type` code (the part after `urn:mobile-key:problem:`), checking the media type. */
export async function problemCode(res: Response): Promise<string> {
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  const body = (await res.json()) as { type: string };
  return body.type.replace('urn:mobile-key:problem:', '');
}

/** A unique client address per test, so throttling in one test never affects another. */
export function address(): { 'CF-Connecting-IP': string } {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return { 'CF-Connecting-IP': `10.${b[0]}.${b[1]}.${b[2]}` };
}

/** Creates an identity through the operator API. */
export async function createTestIdentity(
  claims: Record<string, unknown> = { given_name: 'Jana', family_name: 'Nováková' },
): Promise<{ sub: string; activation_code: string; activation_url: string; expires_at: number }> {
  const res = await post('/admin/identities', claims, ADMIN);
  expect(res.status).toBe(201);
  return res.json();
}

/** A fresh P-256 key pair as a device would make it (not yet enrolled). */
export async function newKeyPair(): Promise<{ publicJwk: JsonWebKey; privateKey: CryptoKey }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { publicJwk: { kty, crv, x, y }, privateKey: pair.privateKey };
}

/** Creates an identity and enrols a fresh device to it over HTTP; returns the device with its private key. */
export async function enrolTestDevice(name = 'Jana’s Pixel'): Promise<TestDevice> {
  const identity = await createTestIdentity();
  const keys = await newKeyPair();
  const res = await post('/api/mobile/enrol', { activation_code: identity.activation_code, public_jwk: keys.publicJwk, name }, address());
  expect(res.status).toBe(201);
  const body = (await res.json()) as { device_id: string; sub: string };
  expect(body.sub).toBe(identity.sub);
  return { id: body.device_id, sub: body.sub, name, publicJwk: keys.publicJwk, privateKey: keys.privateKey };
}

/** Revokes a device through the operator API. */
export async function revoke(deviceId: string): Promise<void> {
  const res = await call(`/admin/devices/${deviceId}/revoke`, { method: 'POST', headers: ADMIN });
  expect(res.status).toBe(200);
}

/** Rows of a table for one identity, straight from D1. */
export async function auditTypes(sub: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT type FROM audit_events WHERE sub = ?1 ORDER BY id').bind(sub).all<{ type: string }>();
  return results.map((r) => r.type);
}

export { randomToken };

/**
 * The reference client's key store for an enrolled test device (its key exported), so the CLI's
 * protocol core can run against the worker. The server is the worker's issuer.
 */
export async function keyStoreOf(device: TestDevice): Promise<KeyStore> {
  return {
    version: 1,
    server: 'http://localhost:8787',
    device_id: device.id,
    sub: device.sub,
    name: device.name,
    private_jwk: (await crypto.subtle.exportKey('jwk', device.privateKey)) as JsonWebKey,
    public_jwk: device.publicJwk,
    enrolled_at: Date.now(),
  };
}
