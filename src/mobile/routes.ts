/**
 * The phone-facing API (specified in docs/mobile-protocol.md), mounted at `/api/mobile`:
 *
 * - `POST /api/mobile/enrol` — activation code + public key + name → 201 `{device_id, sub}`
 * - `POST /api/mobile/enrol/preview` — activation code → `{identity_name, expires_at}`: whose key
 *   it would be, shown before the key is made; the code stays unused
 * - `POST /api/mobile/logins/:id/scan` — read and claim a login from its QR → the context to show
 * - `POST /api/mobile/logins/:id/answer` — the signed decision → `{status, client_name, sub}`
 * - `POST /api/mobile/devices/:id/revoke` — the device revokes its own key (signed, timestamped)
 *   → `{device_id, revoked_at}`; idempotent
 *
 * Signed requests are protocol v2 (`"version": 2`; a v1 body is refused with 400
 * `unsupported-protocol-version`). The Worker loads the device from D1 (unknown → 404
 * `unknown-device`, revoked → 403 `device-revoked`) and hands its key to the LoginSession object,
 * which checks the QR frame (src/session/rotation.ts), the signature, the nonce and the state
 * machine. Errors are `application/problem+json`.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { countriesDiffer, requestLocation } from '../http/location.ts';
import { displayName, safeRequester } from '../http/names.ts';
import { ProblemError } from '../http/problem.ts';
import { parseInput, readJson } from '../http/json.ts';
import { endSessionsOfDevice } from '../browser-session/api.ts';
import { enrolDevice, previewActivationCode } from '../identity/activation.ts';
import { logEvent } from '../lib/log.ts';
import { pushPayload, pushTo, vapidKeys } from '../notifications/notify.ts';
import { notificationStatements, subscriptionsOf, subscriptionsStatement, type NewNotification } from '../notifications/store.ts';
import { auditStatement } from '../identity/audit.ts';
import { consentStatement } from '../identity/consents.ts';
import { historyStatements } from '../identity/history.ts';
import { deviceKeyOf, getDevice, getDeviceWithClaims, revokeDevice, touchDevice, touchStatement, type Device } from '../identity/devices.ts';
import { ENROL_THROTTLE, checkThrottle, clientAddress, enrolThrottleKey, recordFailure, releaseAttempt } from '../identity/throttle.ts';
import { loginStub, unwrap } from '../session/stub.ts';
import { describeUserAgent } from '../session/start.ts';
import { getIdentity, shortPersonName } from '../identity/identities.ts';
import type { AnswerResult } from '../session/types.ts';
import { heldClaimNames } from '../oidc/claims.ts';
import { parsePublicJwk } from './keys.ts';
import { isRevocationTimely, PROTOCOL_VERSION, REVOCATION_WINDOW_MS, revocationMessage, verifyDeviceSignature } from './protocol.ts';
import type { AnswerResponse, EnrolPreviewResponse, EnrolResponse, RevokeResponse, ScanResponse } from './wire.ts';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

const token = (max: number) => v.pipe(v.string(), v.minLength(1), v.maxLength(max));

const EnrolBody = v.object({
  activation_code: token(64),
  public_jwk: v.unknown(),
  // Shown on login pages, in the web app and in operator listings.
  name: displayName('name', 64),
});

const ScanBody = v.object({ frame: token(128), device_id: token(128), signature: token(256) });

const AnswerBody = v.object({
  device_id: token(128),
  decision: v.picklist(['approve', 'deny']),
  nonce: token(128),
  signature: token(256),
  // Number matching: the pick from the scan's number_choices (two digits). Both it and `consent`
  // are lines of the signed answer message (docs/mobile-protocol.md §5): the object verifies the
  // signature over exactly these values.
  number: v.optional(v.pipe(v.number(), v.integer('number must be an integer'), v.minValue(10), v.maxValue(99))),
  // The person's consent choice for what the phone listed (docs/mobile-protocol.md): remembered
  // for the service ("always") or for this login only (the default).
  consent: v.optional(v.picklist(['once', 'always'])),
});

/**
 * The protocol version of a signed request (docs/mobile-protocol.md §5): only v2. A body without
 * `version` is from a v1 key (v1 bodies had none), whose signatures name no service.
 * @throws {ProblemError} 400 `unsupported-protocol-version`, before the body is read any further.
 */
function requireVersion(body: unknown): void {
  // Not an object at all: no key's body, so the shape check says what is wrong.
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const version = (body as { version?: unknown }).version;
  if (version === PROTOCOL_VERSION) return;
  const v1 = version === undefined || version === 1;
  throw new ProblemError('unsupported-protocol-version', 400, 'Unsupported protocol version', {
    detail: v1
      ? 'protocol version 1 is no longer accepted; update the key'
      : `This protocol version is not supported; this server accepts version ${PROTOCOL_VERSION}.`,
    extensions: { supported_versions: [PROTOCOL_VERSION] },
  });
}

/** Reads a signed request's JSON body: the version first (so a v1 key hears why), then its shape. */
async function readSigned<S extends v.GenericSchema>(request: Request, schema: S): Promise<v.InferOutput<S>> {
  const body = await readJson(request, v.unknown());
  requireVersion(body);
  return parseInput(schema, body);
}

const RevokeBody = v.object({
  timestamp: v.pipe(v.number(), v.safeInteger('timestamp must be an integer (epoch milliseconds)'), v.minValue(1, 'timestamp must be positive')),
  signature: token(256),
});

/** The phone-facing routes, mounted at `/api/mobile` (see the module comment). */
export const mobileRoutes = new Hono<{ Bindings: Env }>();

mobileRoutes.post('/enrol', async (c) => {
  const body = await readJson(c.req.raw, EnrolBody);
  // Counted per address and code prefix, so guessing from a shared address cannot lock out the
  // person whose code starts differently (ENROL_THROTTLE explains the numbers).
  const throttleKey = enrolThrottleKey(clientAddress(c.req.raw), body.activation_code);
  const allowed = await checkThrottle(c.env.DB, throttleKey, ENROL_THROTTLE);
  if (!allowed.allowed) {
    throw new ProblemError('too-many-requests', 429, 'Too many attempts', {
      detail: 'Too many wrong activation codes like this one from this address. Check the code and try again later.',
      headers: { 'Retry-After': String(allowed.retryAfterSeconds) },
    });
  }
  const publicJwk = await parsePublicJwk(body.public_jwk);
  // Take a place before the code is checked (one atomic upsert), so parallel guesses cannot all
  // pass the check above; a success gives its place back.
  if ((await recordFailure(c.env.DB, throttleKey, ENROL_THROTTLE)) > ENROL_THROTTLE.limit) {
    const now = await checkThrottle(c.env.DB, throttleKey, ENROL_THROTTLE);
    throw new ProblemError('too-many-requests', 429, 'Too many attempts', {
      detail: 'Too many wrong activation codes like this one from this address. Check the code and try again later.',
      headers: { 'Retry-After': String(now.allowed ? 1 : now.retryAfterSeconds) },
    });
  }
  const platform = describeUserAgent(c.req.header('User-Agent') ?? '');
  const result = await enrolDevice(c.env.DB, { code: body.activation_code, publicJwk, name: body.name, platform });
  if (!result.ok) throw activationProblem[result.reason]();
  await releaseAttempt(c.env.DB, throttleKey);
  logEvent('enrolment', { outcome: 'ok', sub: result.sub, device_id: result.deviceId });
  return c.json({ device_id: result.deviceId, sub: result.sub } satisfies EnrolResponse, 201, NO_STORE);
});

mobileRoutes.post('/enrol/preview', async (c) => {
  const body = await readJson(c.req.raw, v.object({ activation_code: token(64) }));
  // Counted like enrolments: a preview must not be a faster way to guess codes.
  const throttleKey = enrolThrottleKey(clientAddress(c.req.raw), body.activation_code);
  const allowed = await checkThrottle(c.env.DB, throttleKey, ENROL_THROTTLE);
  if (!allowed.allowed) {
    throw new ProblemError('too-many-requests', 429, 'Too many attempts', {
      detail: 'Too many wrong activation codes like this one from this address. Check the code and try again later.',
      headers: { 'Retry-After': String(allowed.retryAfterSeconds) },
    });
  }
  const preview = await previewActivationCode(c.env.DB, body.activation_code);
  if (!preview.ok) {
    if (preview.reason === 'unknown') await recordFailure(c.env.DB, throttleKey, ENROL_THROTTLE);
    throw activationProblem[preview.reason]();
  }
  const identity = await getIdentity(c.env.DB, preview.sub);
  return c.json(
    { identity_name: identity ? shortPersonName(identity.claims) : '', expires_at: preview.expiresAt } satisfies EnrolPreviewResponse,
    200,
    NO_STORE,
  );
});

const activationProblem = {
  unknown: () =>
    new ProblemError('invalid-activation-code', 400, 'Invalid activation code', {
      detail: 'This activation code is not valid. Check it and type it again.',
    }),
  used: () =>
    new ProblemError('activation-code-used', 409, 'Activation code already used', {
      detail: 'This activation code has already been used. Ask for a new one.',
    }),
  expired: () =>
    new ProblemError('activation-code-expired', 410, 'Activation code expired', {
      detail: 'This activation code has expired. Ask for a new one.',
    }),
} as const;

mobileRoutes.post('/logins/:id/scan', async (c) => {
  const stub = loginStub(c.env, c.req.param('id'));
  const body = await readSigned(c.req.raw, ScanBody);
  // The device and its identity's claims in one query, before the object checks the scan.
  const found = await getDeviceWithClaims(c.env.DB, body.device_id);
  const device = usable(found?.device);
  const context = unwrap(await stub.scan({ frame: body.frame, device: deviceKeyOf(device), signature: body.signature }));
  // The phone lists what will really be released: the requested claims this person has a value for.
  const claims = found?.claims ? heldClaimNames(context.claims, found.claims) : context.claims;
  afterDecision(c.executionCtx, 'touch', () => touchDevice(c.env.DB, device.id));
  const requester = safeRequester(context.requester);
  // Where the phone is, from this very request, against where the browser started the login.
  const phoneCountry = requestLocation(c.req.raw, c.env.ISSUER).country;
  return c.json(
    {
      login_id: context.loginId,
      state: context.state,
      client: { id: context.client.id, name: context.client.name },
      claims,
      requester,
      created_at: context.createdAt,
      expires_at: context.expiresAt,
      now: context.now,
      nonce: context.nonce,
      ...(phoneCountry ? { phone_country: phoneCountry } : {}),
      country_mismatch: countriesDiffer(requester.country, phoneCountry),
      ...(context.numberChoices ? { number_choices: context.numberChoices } : {}),
    } satisfies ScanResponse,
    200,
    NO_STORE,
  );
});

mobileRoutes.post('/logins/:id/answer', async (c) => {
  const loginId = c.req.param('id');
  const stub = loginStub(c.env, loginId);
  const body = await readSigned(c.req.raw, AnswerBody);
  // Read for every answer, never cached: a key revoked a moment ago must not approve. The object
  // tells the login page inside this call; nothing else comes before it.
  const device = await usableDevice(c.env.DB, body.device_id);
  const result = unwrap(
    await stub.answer({
      device: deviceKeyOf(device),
      decision: body.decision,
      nonce: body.nonce,
      signature: body.signature,
      ...(body.number !== undefined ? { number: body.number } : {}),
      ...(body.consent !== undefined ? { consent: body.consent } : {}),
    }),
  );
  // A repeated answer (a retry after a lost response) is answered again but audited once.
  // Last use, the audit event, the login history, the consent, the notification to the other keys
  // and their push subscriptions are one D1 round trip, after the phone has its answer.
  afterDecision(c.executionCtx, 'bookkeeping', () => answerBookkeeping(c.env, loginId, device, result, body.consent ?? 'once'));
  const response: AnswerResponse = {
    status: result.state === 'approved' ? 'approved' : 'denied',
    ...(result.wrongNumber ? { reason: 'wrong-number' as const } : {}),
    client_id: result.client.id,
    client_name: result.client.name,
    sub: result.sub,
  };
  return c.json(response, 200, NO_STORE);
});

/**
 * What an answer leaves in D1, in one batch: the device's last use; for an answer that took
 * effect also the audit event, the login history, the consent (an approval that releases claims)
 * and the notification to the identity's other keys, then a push to their subscriptions (read in
 * the same batch).
 * @param consent the answer's consent choice.
 */
async function answerBookkeeping(env: Env, loginId: string, device: Device, result: AnswerResult, consent: 'once' | 'always'): Promise<void> {
  const db = env.DB;
  const now = Date.now();
  const statements = [touchStatement(db, device.id, now)];
  if (!result.changed) {
    await db.batch(statements);
    return;
  }
  const approved = result.state === 'approved';
  const type = approved ? 'login.approved' : 'login.denied';
  const notification: NewNotification = {
    sub: device.sub,
    type,
    deviceId: device.id,
    detail: { client_id: result.client.id, client_name: result.client.name, requester: safeRequester(result.requester), device_name: device.name },
  };
  statements.push(
    auditStatement(db, { type, sub: device.sub, deviceId: device.id, clientId: result.client.id, detail: { login_id: loginId, ...(result.wrongNumber ? { reason: 'wrong-number' } : {}) } }, now),
    ...historyStatements(db, {
      sub: device.sub,
      clientId: result.client.id,
      clientName: result.client.name,
      deviceId: device.id,
      outcome: approved ? 'approved' : 'denied',
      method: 'key',
      requester: result.requester,
    }, now),
    ...(approved && result.claims.length > 0 ? [consentStatement(db, { sub: device.sub, clientId: result.client.id, kind: consent, claims: result.claims }, now)] : []),
    // The identity's other keys are told (a stolen key approving shows up on the person's others).
    ...notificationStatements(db, notification, now),
  );
  const push = vapidKeys(env) !== null;
  if (push) statements.push(subscriptionsStatement(db, device.sub, device.id));
  const results = await db.batch(statements);
  if (push) await pushTo(env, subscriptionsOf(results.at(-1)?.results ?? []), pushPayload(notification, now));
}

mobileRoutes.post('/devices/:id/revoke', async (c) => {
  const body = await readSigned(c.req.raw, RevokeBody);
  const device = await getDevice(c.env.DB, c.req.param('id'));
  if (!device) {
    throw new ProblemError('unknown-device', 404, 'Unknown device', { detail: 'No device is enrolled with this id.' });
  }
  // The signature first: only the key's holder learns anything more about the device.
  const signed = await verifyDeviceSignature(
    device.publicJwk,
    revocationMessage({ origin: new URL(c.env.ISSUER).origin, deviceId: device.id, timestamp: body.timestamp }),
    body.signature,
  );
  if (!signed) {
    throw new ProblemError('invalid-signature', 401, 'Invalid signature', {
      detail: 'The signature does not verify with this device’s enrolled key.',
    });
  }
  const now = Date.now();
  if (!isRevocationTimely(body.timestamp, now)) {
    // `now` lets a device with a wrong clock sign again with the server's time.
    throw new ProblemError('timestamp-out-of-window', 400, 'Timestamp out of window', {
      detail: `The timestamp must be within ${REVOCATION_WINDOW_MS / 60_000} minutes of the server's clock. Check the device's clock.`,
      extensions: { now },
    });
  }
  // A repeat (a retry, or a replay within the window) answers with the first revocation, audited once.
  const result = await revokeDevice(c.env.DB, device.id, { by: 'device' }, now);
  if (!result) throw new ProblemError('unknown-device', 404, 'Unknown device', { detail: 'No device is enrolled with this id.' });
  // Also on a repeat: ending the sessions it approved is idempotent and may have failed before.
  await endSessionsOfDevice(c.env, device.id);
  return c.json({ device_id: device.id, revoked_at: result.device.revokedAt! } satisfies RevokeResponse, 200, NO_STORE);
});

/**
 * Runs bookkeeping (last use, audit) after the LoginSession has taken its decision, off the
 * answer path: the response does not wait for it, `ctx.waitUntil` keeps it alive. The decision
 * stands either way, so a failure here is logged rather than turned into an error the phone
 * would misread. The D1 write is sent before the response, so a later read on the same
 * database sees it (D1 runs one database's queries in order).
 */
function afterDecision(ctx: { waitUntil(promise: Promise<unknown>): void }, what: string, write: () => Promise<void>): void {
  ctx.waitUntil(
    write().catch((error: unknown) => {
      console.error(`mobile: ${what} after a login decision failed`, error);
    }),
  );
}

/**
 * The enrolled device named by the request, read from D1 now.
 * @throws {ProblemError} 404 `unknown-device`, 403 `device-revoked`.
 */
async function usableDevice(db: D1Database, id: string): Promise<Device> {
  return usable(await getDevice(db, id));
}

/**
 * A device that may scan and answer.
 * @throws {ProblemError} 404 `unknown-device` when there is none, 403 `device-revoked`.
 */
function usable(device: Device | null | undefined): Device {
  if (!device) {
    throw new ProblemError('unknown-device', 404, 'Unknown device', {
      detail: 'No device is enrolled with this id. Enrol the mobile key again.',
    });
  }
  if (device.revokedAt !== null) {
    throw new ProblemError('device-revoked', 403, 'Device revoked', {
      detail: 'This mobile key has been revoked and can no longer approve logins.',
    });
  }
  return device;
}
