/**
 * Telling a person's keys about a security event: the notification row in D1 first (what the
 * web app and the key CLI list), then a Web Push message (RFC 8030, encrypted per RFC 8291,
 * VAPID per RFC 8292) to every push subscription of the identity's other usable keys.
 */
import { logEvent } from '../lib/log.ts';
import { isGoneSubscription, pushRequest, type VapidKeys } from '../lib/webpush.ts';
import { notificationStatements, removeSubscription, subscriptionsToNotify, type NewNotification, type StoredSubscription } from './store.ts';

/** Longest we wait for one push service, in milliseconds. */
const PUSH_TIMEOUT_MS = 10_000;

/** The payload a push message carries (the service worker turns it into a notification). */
export interface PushPayload {
  type: NewNotification['type'];
  /** Epoch ms. */
  at: number;
  client_name?: string;
  requester?: NewNotification['detail']['requester'];
  device_name?: string;
}

/**
 * The VAPID keys from `VAPID_KEYS` (JSON `{privateJwk, publicKey}`, made by `npm start`), or null
 * when unset or malformed (push is then off; notifications are still stored).
 */
export function vapidKeys(env: { VAPID_KEYS?: string }): VapidKeys | null {
  try {
    const keys = JSON.parse(env.VAPID_KEYS ?? '') as Partial<VapidKeys>;
    return keys && typeof keys.publicKey === 'string' && typeof keys.privateJwk?.d === 'string' ? (keys as VapidKeys) : null;
  } catch {
    return null;
  }
}

/**
 * Stores a notification (awaited: it is part of the event) and returns the push deliveries as a
 * promise for `waitUntil`; a delivery failure is logged and never thrown.
 * @param now epoch ms.
 */
export async function notify(env: Env, notification: NewNotification, now = Date.now()): Promise<{ deliveries: Promise<void> }> {
  await env.DB.batch(notificationStatements(env.DB, notification, now));
  return { deliveries: deliverPush(env, notification.sub, notification.deviceId, pushPayload(notification, now)) };
}

/** What the push message of a notification carries (no client id). @param now epoch ms. */
export function pushPayload(notification: NewNotification, now: number): PushPayload {
  const payload: PushPayload = { type: notification.type, at: now, ...notification.detail };
  delete (payload as { client_id?: string }).client_id;
  return payload;
}

/**
 * Sends one encrypted push to each subscription of the identity's usable keys except `exceptDeviceId`.
 * A subscription answered with 404/410 is removed. Never throws.
 */
export async function deliverPush(env: Env, sub: string, exceptDeviceId: string | null, payload: PushPayload): Promise<void> {
  try {
    if (!vapidKeys(env)) return;
    await pushTo(env, await subscriptionsToNotify(env.DB, sub, exceptDeviceId), payload);
  } catch (error) {
    console.error('push deliveries failed', error);
  }
}

/**
 * Sends one encrypted push to each of `subscriptions` (already read, e.g. with
 * `subscriptionsStatement` in the batch that stored the notification). A subscription answered
 * with 404/410 is removed. Nothing without VAPID keys. Never throws.
 */
export async function pushTo(env: Env, subscriptions: readonly StoredSubscription[], payload: PushPayload): Promise<void> {
  try {
    const keys = vapidKeys(env);
    if (!keys) return;
    await Promise.all(
      subscriptions.map(async (s) => {
        try {
          const request = await pushRequest({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, {
            keys,
            subject: env.ISSUER,
          });
          const response = await fetch(request, { signal: AbortSignal.timeout(PUSH_TIMEOUT_MS) });
          await response.body?.cancel();
          if (isGoneSubscription(response.status)) await removeSubscription(env.DB, s.endpoint);
          logEvent('push', { outcome: response.ok ? 'ok' : `status-${response.status}`, sub: s.sub, device_id: s.deviceId });
        } catch (error) {
          logEvent('push', { outcome: 'failed', sub: s.sub, device_id: s.deviceId }, 'error');
          console.error('push delivery failed', error);
        }
      }),
    );
  } catch (error) {
    console.error('push deliveries failed', error);
  }
}
