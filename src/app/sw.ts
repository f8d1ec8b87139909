/**
 * The web app's service worker (served at `/key/sw.js`, scope `/key/`): it shows the Web Push
 * messages the service sends (src/notifications/notify.ts `PushPayload`) as system notifications
 * and opens the app when one is tapped. Plain script text: it runs in the browser, not here.
 * The payload's texts were validated on the server; a notification body is plain text anyway.
 */
export const SERVICE_WORKER = `'use strict';
const TEXT = {
  cs: {
    'login.approved': ['Nové přihlášení', (d) => d.client_name + where(d) + ' — schváleno klíčem „' + d.device_name + '“. Nebyli jste to vy? Odpojte ten klíč.'],
    'login.denied': ['Zamítnuté přihlášení', (d) => d.client_name + where(d) + ' — klíčem „' + d.device_name + '“.'],
    'device.paired': ['Přidán nový klíč', (d) => 'Klíč „' + d.device_name + '“ byl přidán k vaší identitě.'],
    'device.revoked': ['Klíč odpojen', (d) => 'Klíč „' + d.device_name + '“ byl odpojen.'],
  },
  en: {
    'login.approved': ['New login', (d) => d.client_name + where(d) + ' — approved with “' + d.device_name + '”. Not you? Disconnect that key.'],
    'login.denied': ['Login denied', (d) => d.client_name + where(d) + ' — with “' + d.device_name + '”.'],
    'device.paired': ['New key added', (d) => 'The key “' + d.device_name + '” was added to your identity.'],
    'device.revoked': ['Key disconnected', (d) => 'The key “' + d.device_name + '” was disconnected.'],
  },
};
function where(d) {
  const r = d.requester || {};
  const parts = [r.city, r.country, r.browser && (r.browser + (r.os ? ' / ' + r.os : ''))].filter(Boolean);
  return parts.length ? ' (' + parts.join(', ') + ')' : '';
}
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  const lang = (self.navigator.language || 'cs').toLowerCase().startsWith('en') ? 'en' : 'cs';
  const entry = TEXT[lang][data.type] || [lang === 'cs' ? 'Mobilní klíč' : 'Mobile key', () => ''];
  event.waitUntil(
    self.registration.showNotification(entry[0], {
      body: entry[1](data),
      icon: '/static/icons/key-192.png',
      tag: 'mobile-key-' + String(data.type) + '-' + String(data.at),
      data: { url: '/key/' },
    }),
  );
});
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow('/key/'));
});
`;
