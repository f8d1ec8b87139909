/**
 * The pairing API (docs/pairing.md), mounted at `/api/pairings`. Errors are problem+json.
 *
 * The existing key (web app or key CLI), bound by the `__Host-mk_pair_<id>` cookie it receives:
 * - `POST /api/pairings` — signed `pair-start` request → 201 snapshot (the pairing URL for the QR)
 * - `GET /api/pairings/:id` — the snapshot; `GET /api/pairings/:id/ws` — snapshots over a WebSocket
 * - `POST /api/pairings/:id/confirm` — signed confirmation of the claimed key → completed snapshot
 * - `POST /api/pairings/:id/cancel` — ends the pairing (also: refusing the claimed key)
 *
 * The account's browser, with a single sign-on session approved with a key in the last 5 minutes:
 * - `POST /api/pairings/session` — `{}` → 201 snapshot (same cookie); 401 `unauthorized` without a
 *   session, 403 `reauthentication-required` when its approval is older (log in again: `max_age=300`)
 * - `POST /api/pairings/:id/confirm-session` — `{}` → completed snapshot (the session's identity must match)
 *
 * The new device, with the QR secret:
 * - `POST /api/pairings/:id/open` — whose identity it joins (`identity_name`), before it makes a key
 * - `POST /api/pairings/:id/claim` — its public key and proposed name, signed with the new key
 * - `POST /api/pairings/:id/status` — how its claim stands; `sub` once enrolled
 */
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import * as v from 'valibot';
import { readJson } from '../http/json.ts';
import { displayName } from '../http/names.ts';
import { ProblemError, problems } from '../http/problem.ts';
import { getDevice } from '../identity/devices.ts';
import { getIdentity, shortPersonName } from '../identity/identities.ts';
import { currentBrowserSession } from '../browser-session/api.ts';
import { logEvent } from '../lib/log.ts';
import { DeviceRequestFields, signedDevice } from '../mobile/device-request.ts';
import { parsePublicJwk } from '../mobile/keys.ts';
import { randomToken, sha256Hex } from '../session/crypto.ts';
import { requesterOf } from '../session/start.ts';
import { assertSameOrigin } from '../session/routes.ts';
import { unwrap } from '../session/stub.ts';
import { PAIRING_VALIDITY_SECONDS } from './machine.ts';
import { PAIRING_BINDING_HEADER, PAIRING_RETENTION_MS, type Pairing } from './Pairing.ts';
import type { ClaimStatus, PairingInvitation } from './types.ts';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;
const PAIRING_ID = /^[0-9a-f]{64}$/;
const token = (max: number) => v.pipe(v.string(), v.minLength(1), v.maxLength(max));

type Ctx = Context<{ Bindings: Env }>;

/** The binding cookie's name for a pairing (`__Host-`: Secure, Path=/, no Domain; see src/session/binding.ts). */
export function pairingCookieName(pairingId: string): string {
  return `__Host-mk_pair_${pairingId.slice(0, 16)}`;
}

/**
 * The Pairing stub for an id from a URL.
 * @throws {ProblemError} 404 `not-found` for anything that is not one of our object ids.
 */
export function pairingStub(env: Env, pairingId: string): DurableObjectStub<Pairing> {
  if (!PAIRING_ID.test(pairingId)) throw problems.notFound('No such pairing.');
  try {
    return env.PAIRING.get(env.PAIRING.idFromString(pairingId)) as DurableObjectStub<Pairing>;
  } catch {
    throw problems.notFound('No such pairing.');
  }
}

async function bindingHash(c: Ctx, pairingId: string): Promise<string> {
  const value = getCookie(c, pairingCookieName(pairingId));
  return value ? sha256Hex(value) : '';
}

const invitation = (i: PairingInvitation) => ({ state: i.state, identity_name: i.identityName, expires_at: i.expiresAt, now: i.now });
const claimStatus = (s: ClaimStatus) => ({
  state: s.state,
  device_id: s.deviceId,
  identity_name: s.identityName,
  ...(s.sub ? { sub: s.sub } : {}),
  expires_at: s.expiresAt,
  now: s.now,
});

/** The pairing routes (see the module comment). */
export const pairingRoutes = new Hono<{ Bindings: Env }>();

/** How recent the session's approval must be to start a pairing from it, in seconds (the account's `max_age`). */
export const SESSION_PAIRING_MAX_AGE_SECONDS = 300;

pairingRoutes.post('/', async (c) => {
  assertSameOrigin(c);
  const body = await readJson(c.req.raw, v.object(DeviceRequestFields));
  const device = await signedDevice(c.env.DB, 'pair-start', body);
  return begin(c, device.sub, device.id, 'device');
});

pairingRoutes.post('/session', async (c) => {
  assertSameOrigin(c);
  await readJson(c.req.raw, v.object({}));
  const session = await currentBrowserSession(c);
  if (!session) throw new ProblemError('unauthorized', 401, 'Not logged in', { detail: 'Log in to your account with your mobile key first.' });
  if (Date.now() / 1000 - session.authTime > SESSION_PAIRING_MAX_AGE_SECONDS) {
    throw new ProblemError('reauthentication-required', 403, 'Approve again', {
      detail: 'Adding a key needs an approval with your mobile key within the last 5 minutes. Log in again.',
    });
  }
  const device = await getDevice(c.env.DB, session.deviceId);
  if (!device || device.revokedAt !== null || device.sub !== session.sub) {
    throw new ProblemError('device-revoked', 403, 'Device revoked', { detail: 'The key that approved this session no longer works.' });
  }
  return begin(c, session.sub, session.deviceId, 'session');
});

pairingRoutes.post('/:id/confirm-session', async (c) => {
  assertSameOrigin(c);
  const pairingId = c.req.param('id');
  const stub = pairingStub(c.env, pairingId);
  await readJson(c.req.raw, v.object({}));
  const session = await currentBrowserSession(c);
  if (!session) throw new ProblemError('unauthorized', 401, 'Not logged in', { detail: 'Log in to your account with your mobile key first.' });
  const snapshot = unwrap(await stub.confirmFromSession(await bindingHash(c, pairingId), session.sub));
  logEvent('pairing.confirmed', { sub: session.sub, device_id: snapshot.deviceId });
  return c.json(snapshot, 200, NO_STORE);
});

/** Starts a pairing for `sub`, sets the binding cookie, answers 201 with the first snapshot. */
async function begin(c: Ctx, sub: string, starterDeviceId: string, starter: 'device' | 'session') {
  const identity = await getIdentity(c.env.DB, sub);
  if (!identity) throw new ProblemError('unknown-identity', 404, 'Unknown identity', { detail: 'This key’s identity no longer exists.' });
  const id = c.env.PAIRING.newUniqueId().toString();
  const value = randomToken(32);
  // The cookie outlives the pairing's retention, so a reload after the end still sees the outcome.
  setCookie(c, pairingCookieName(id), value, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    maxAge: PAIRING_VALIDITY_SECONDS + PAIRING_RETENTION_MS / 1000,
  });
  const snapshot = unwrap(
    await pairingStub(c.env, id).start({
      bindingHash: await sha256Hex(value),
      sub,
      starterDeviceId,
      starter,
      identityName: shortPersonName(identity.claims),
    }),
  );
  logEvent('pairing.started', { sub, device_id: starterDeviceId, outcome: starter });
  return c.json(snapshot, 201, NO_STORE);
}

pairingRoutes.get('/:id', async (c) => {
  const stub = pairingStub(c.env, c.req.param('id'));
  return c.json(unwrap(await stub.read(await bindingHash(c, c.req.param('id')))), 200, NO_STORE);
});

pairingRoutes.get('/:id/ws', async (c) => {
  const stub = pairingStub(c.env, c.req.param('id'));
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ProblemError('upgrade-required', 426, 'WebSocket upgrade required', { headers: { Upgrade: 'websocket' } });
  }
  assertSameOrigin(c);
  const headers = new Headers(c.req.raw.headers);
  headers.set(PAIRING_BINDING_HEADER, await bindingHash(c, c.req.param('id')));
  return stub.fetch(new Request(c.req.raw.url, { method: 'GET', headers }));
});

pairingRoutes.post('/:id/cancel', async (c) => {
  assertSameOrigin(c);
  const stub = pairingStub(c.env, c.req.param('id'));
  await readJson(c.req.raw, v.object({}));
  return c.json(unwrap(await stub.cancel(await bindingHash(c, c.req.param('id')))), 200, NO_STORE);
});

pairingRoutes.post('/:id/confirm', async (c) => {
  assertSameOrigin(c);
  const pairingId = c.req.param('id');
  const stub = pairingStub(c.env, pairingId);
  const body = await readJson(c.req.raw, v.object({ device_id: token(128), nonce: token(128), signature: token(256) }));
  const device = await getDevice(c.env.DB, body.device_id);
  if (!device) throw new ProblemError('unknown-device', 404, 'Unknown device', { detail: 'No device is enrolled with this id.' });
  if (device.revokedAt !== null) throw new ProblemError('device-revoked', 403, 'Device revoked', { detail: 'This mobile key has been revoked.' });
  const snapshot = unwrap(
    await stub.confirm({
      bindingHash: await bindingHash(c, pairingId),
      deviceId: device.id,
      publicJwk: device.publicJwk,
      nonce: body.nonce,
      signature: body.signature,
    }),
  );
  logEvent('pairing.confirmed', { sub: device.sub, device_id: snapshot.deviceId });
  return c.json(snapshot, 200, NO_STORE);
});

pairingRoutes.post('/:id/open', async (c) => {
  const stub = pairingStub(c.env, c.req.param('id'));
  const body = await readJson(c.req.raw, v.object({ secret: token(256) }));
  return c.json(invitation(unwrap(await stub.open(body.secret))), 200, NO_STORE);
});

pairingRoutes.post('/:id/claim', async (c) => {
  const stub = pairingStub(c.env, c.req.param('id'));
  const body = await readJson(
    c.req.raw,
    v.object({ secret: token(256), public_jwk: v.unknown(), name: displayName('name', 64), signature: token(256) }),
  );
  const publicJwk = await parsePublicJwk(body.public_jwk);
  const status = unwrap(
    await stub.claim({ secret: body.secret, publicJwk, name: body.name, signature: body.signature, requester: requesterOf(c.req.raw, c.env.ISSUER) }),
  );
  return c.json(claimStatus(status), 200, NO_STORE);
});

pairingRoutes.post('/:id/status', async (c) => {
  const stub = pairingStub(c.env, c.req.param('id'));
  const body = await readJson(c.req.raw, v.object({ secret: token(256), device_id: token(128) }));
  return c.json(claimStatus(unwrap(await stub.status(body.secret, body.device_id))), 200, NO_STORE);
});
