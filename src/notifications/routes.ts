/**
 * The notifications API of a key (docs/pairing.md#notifications), mounted at `/api/notifications`.
 * Every call but the VAPID key is a signed device request (src/mobile/protocol.ts
 * `deviceRequestMessage`), so a key reads only its own identity's notifications.
 *
 * - `POST /api/notifications` — `notifications` → `{notifications: [...], unread}` (newest first)
 * - `POST /api/notifications/read` — `notifications-read`, subject = the id read up to → `{read_up_to}`
 * - `GET /api/notifications/push-key` — the VAPID public key (`applicationServerKey`) → `{public_key}`
 * - `POST /api/notifications/push-subscriptions` — `push-subscribe`, subject = base64url SHA-256
 *   of the endpoint; body `subscription` as `PushSubscription.toJSON()` → 201 `{endpoint}`
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { readJson } from '../http/json.ts';
import { ProblemError } from '../http/problem.ts';
import { DeviceRequestFields, signedDevice } from '../mobile/device-request.ts';
import { base64urlDecode, base64urlEncode } from '../mobile/protocol.ts';
import { isLocalhost } from '../session/binding.ts';
import { vapidKeys } from './notify.ts';
import { listNotifications, markRead, saveSubscription } from './store.ts';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** Longest push endpoint URL we store, in characters. */
const MAX_ENDPOINT = 1024;

/** The notifications routes (see the module comment). */
export const notificationRoutes = new Hono<{ Bindings: Env }>();

notificationRoutes.post('/', async (c) => {
  const body = await readJson(c.req.raw, v.object({ ...DeviceRequestFields, limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100))) }));
  const device = await signedDevice(c.env.DB, 'notifications', body);
  const page = await listNotifications(c.env.DB, device, body.limit ?? 50);
  return c.json(page, 200, NO_STORE);
});

notificationRoutes.post('/read', async (c) => {
  const body = await readJson(
    c.req.raw,
    v.object({ ...DeviceRequestFields, up_to: v.pipe(v.number(), v.safeInteger(), v.minValue(1, 'up_to must be a notification id')) }),
  );
  const device = await signedDevice(c.env.DB, 'notifications-read', body, String(body.up_to));
  return c.json({ read_up_to: await markRead(c.env.DB, device.id, body.up_to) }, 200, NO_STORE);
});

notificationRoutes.get('/push-key', (c) => {
  const keys = vapidKeys(c.env);
  if (!keys) throw new ProblemError('not-found', 404, 'Push not configured', { detail: 'This service sends no push messages.' });
  return c.json({ public_key: keys.publicKey }, 200, { 'Cache-Control': 'public, max-age=300' });
});

const base64url = (bytes: number) =>
  v.pipe(
    v.string(),
    v.maxLength(128, 'subscription key too long'),
    v.check((text) => base64urlDecode(text)?.byteLength === bytes, `must be ${bytes} bytes in base64url`),
  );

notificationRoutes.post('/push-subscriptions', async (c) => {
  const body = await readJson(
    c.req.raw,
    v.object({
      ...DeviceRequestFields,
      subscription: v.object({
        endpoint: v.pipe(v.string(), v.maxLength(MAX_ENDPOINT, 'endpoint too long'), v.url('endpoint must be a URL')),
        keys: v.object({ p256dh: base64url(65), auth: base64url(16) }),
        expirationTime: v.optional(v.nullable(v.number())),
      }),
    }),
  );
  const endpoint = checkEndpoint(body.subscription.endpoint, c.env.ISSUER);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint)));
  const device = await signedDevice(c.env.DB, 'push-subscribe', body, base64urlEncode(digest));
  if (base64urlDecode(body.subscription.keys.p256dh)![0] !== 0x04) throw invalidSubscription('keys.p256dh must be an uncompressed P-256 point.');
  await saveSubscription(c.env.DB, { endpoint, deviceId: device.id, sub: device.sub, p256dh: body.subscription.keys.p256dh, auth: body.subscription.keys.auth });
  return c.json({ endpoint }, 201, NO_STORE);
});

function invalidSubscription(detail: string): ProblemError {
  return new ProblemError('invalid-push-subscription', 400, 'Invalid push subscription', { detail });
}

/**
 * A push endpoint we may POST to: https, or http on a loopback host when this service itself
 * runs on one (local development and tests); no credentials in it.
 * @throws {ProblemError} 400 `invalid-push-subscription`.
 */
function checkEndpoint(text: string, issuer: string): string {
  const url = new URL(text);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.username || url.password) throw invalidSubscription('The endpoint must not carry credentials.');
  if (url.protocol === 'https:') return url.href;
  if (url.protocol === 'http:' && loopback && isLocalhost(issuer)) return url.href;
  throw invalidSubscription('The endpoint must be an https URL of a push service.');
}
