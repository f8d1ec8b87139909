import { useEffect, useState } from 'preact/hooks';
import { isSafeDisplayName, safeRequester } from '../../../src/http/names.ts';
import { useApp } from '../context.ts';
import type { MessageKey } from '../lib/i18n.ts';
import { listNotifications, markNotificationsRead, type NotificationView } from '../lib/pairing.ts';
import { pushSupported, subscribePush, type PushOutcome } from '../lib/push.ts';
import type { StoredKey } from '../lib/store.ts';

const TEXT: Record<NotificationView['type'], MessageKey> = {
  'login.approved': 'notificationLoginApproved',
  'login.denied': 'notificationLoginDenied',
  'device.paired': 'notificationPaired',
  'device.revoked': 'notificationRevoked',
};

/** Text from the server shown only when it is a safe display name (it was checked there too). */
const safe = (value: unknown) => (typeof value === 'string' && value.length <= 64 && isSafeDisplayName(value) ? value : '—');

/**
 * The unread security events of this device's keys (logins by the identity's other keys, keys
 * added or disconnected), shown when the app opens; "Mark as read" moves each key's mark. Also
 * the offer to turn on Web Push where the browser supports it.
 */
export function Notifications({ keys }: { keys: StoredKey[] }) {
  const { t, locale, announce } = useApp();
  const [items, setItems] = useState<{ key: StoredKey; n: NotificationView }[] | null>(null);
  const [push, setPush] = useState<PushOutcome | 'idle' | 'busy'>('idle');

  const load = async () => {
    const lists = await Promise.all(keys.filter((k) => k.origin === location.origin).map(async (key) => ({ key, result: await listNotifications(key) })));
    setItems(lists.flatMap(({ key, result }) => (result.ok ? result.value.notifications.filter((n) => !n.read).map((n) => ({ key, n })) : [])));
  };
  useEffect(() => void load(), [keys.map((k) => k.deviceId).join()]);

  const markRead = async () => {
    const newest = new Map<string, { key: StoredKey; id: number }>();
    for (const { key, n } of items ?? []) if ((newest.get(key.deviceId)?.id ?? 0) < n.id) newest.set(key.deviceId, { key, id: n.id });
    await Promise.all([...newest.values()].map(({ key, id }) => markNotificationsRead(key, id)));
    await load();
  };

  const enablePush = async () => {
    setPush('busy');
    const outcome = await subscribePush(keys[0]!);
    setPush(outcome);
    announce(t(outcome === 'subscribed' ? 'pushEnabled' : outcome === 'denied' ? 'pushDenied' : 'pushFailed'));
  };

  const format = new Intl.DateTimeFormat(locale === 'cs' ? 'cs-CZ' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  const describe = (n: NotificationView) => {
    const r = safeRequester(n.detail.requester);
    const place = [r.city, r.country].filter(Boolean).join(', ');
    const browser = [r.browser, r.os].filter(Boolean).join(', ');
    const where = [place, browser].filter(Boolean).join(', ');
    return t(TEXT[n.type] ?? 'notificationRevoked', {
      client: safe(n.detail.client_name),
      key: safe(n.detail.device_name),
      when: format.format(n.at),
      where: where ? `, ${where}` : '',
    });
  };

  if (items === null) return null;
  return (
    <section aria-labelledby="notifications-heading" data-notifications={items.length}>
      <h2 id="notifications-heading">{t('notificationsTitle')}</h2>
      {items.length === 0 ? (
        <p class="hint">{t('notificationsNone')}</p>
      ) : (
        <>
          <p class="hint">{t('notificationsUnread', { count: items.length })}</p>
          <ul class="notifications">
            {items.map(({ key, n }) => (
              <li key={`${key.deviceId}:${n.id}`} class="notice" data-notification={n.type}>
                {describe(n)}
              </li>
            ))}
          </ul>
          <div class="actions">
            <button type="button" class="secondary small" data-action="notifications-read" onClick={() => void markRead()}>
              {t('notificationsMarkRead')}
            </button>
          </div>
        </>
      )}
      {pushSupported() && push !== 'subscribed' && (
        <div class="actions">
          <button type="button" class="secondary small" data-action="push-enable" disabled={push === 'busy'} onClick={() => void enablePush()}>
            {t('pushEnable')}
          </button>
        </div>
      )}
      {push !== 'idle' && push !== 'busy' && (
        <p class="hint" data-push={push}>
          {t(push === 'subscribed' ? 'pushEnabled' : push === 'denied' ? 'pushDenied' : 'pushFailed')}
        </p>
      )}
    </section>
  );
}
