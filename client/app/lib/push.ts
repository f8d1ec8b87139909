/**
 * Web Push in the web app: the service worker (`/key/sw.js`), the permission, the subscription
 * with the service's VAPID key (RFC 8292 `applicationServerKey`), stored for one key.
 */
import { savePushSubscription } from './pairing.ts';
import type { StoredKey } from './store.ts';

/** Whether this browser can receive push messages at all (service workers, Push API, notifications). */
export function pushSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof PushManager !== 'undefined' && typeof Notification !== 'undefined';
}

/** The outcome of turning notifications on. */
export type PushOutcome = 'subscribed' | 'denied' | 'unsupported' | 'failed';

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Asks for permission, subscribes this browser and stores the subscription for `key`.
 * Never throws.
 */
export async function subscribePush(key: StoredKey): Promise<PushOutcome> {
  if (!pushSupported()) return 'unsupported';
  try {
    if ((await Notification.requestPermission()) !== 'granted') return 'denied';
    const registration = await navigator.serviceWorker.register('/key/sw.js', { scope: '/key/' });
    await navigator.serviceWorker.ready;
    const res = await fetch('/api/notifications/push-key', { credentials: 'same-origin' });
    if (!res.ok) return 'unsupported';
    const { public_key } = (await res.json()) as { public_key: string };
    const subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64url(public_key) }));
    const saved = await savePushSubscription(key, subscription.toJSON());
    return saved.ok ? 'subscribed' : 'failed';
  } catch {
    return 'failed';
  }
}
