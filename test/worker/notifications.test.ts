/**
 * Notifications to a person's other keys (issue 12): a login approved or denied, a key paired or
 * revoked; each key reads only its identity's, never its own events, and marks them read; push
 * subscriptions are validated before they are stored.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deliverPush } from '../../src/notifications/notify.ts';
import { base64urlEncode, deviceRequestMessage, signDeviceMessage } from '../../src/mobile/protocol.ts';
import { call, sign, startTestLogin, type TestDevice } from './helpers.ts';
import { enrolTestDevice, post, problemCode, revoke } from './identity-helpers.ts';
import { pairSecondKey, signedBody } from './pairing-support.ts';
import { codeRequest, newClient } from './oidc-support.ts';
import { authorizeIn, Browser, consented, loginWithPhone } from './sso-support.ts';

interface Listed {
  notifications: { id: number; type: string; device_id: string | null; detail: Record<string, unknown>; read: boolean }[];
  unread: number;
}

async function list(device: TestDevice): Promise<Listed> {
  const res = await post('/api/notifications', await signedBody(device, 'notifications'));
  expect(res.status).toBe(200);
  return res.json();
}

async function approveLogin(device: TestDevice, decision: 'approve' | 'deny' = 'approve'): Promise<void> {
  const login = await startTestLogin();
  const scan = await post(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame: login.frame, device_id: device.id, signature: await sign(device, 'scan', login.id) });
  const { nonce } = (await scan.json()) as { nonce: string };
  const answer = await post(`/api/mobile/logins/${login.id}/answer`, {
    version: 2,
    device_id: device.id,
    decision,
    nonce,
    signature: await sign(device, decision, login.id, nonce),
  });
  expect(answer.status).toBe(200);
}

describe('notifications', () => {
  it('tells the other keys of every login, with service, place and browser; not the key that answered', async () => {
    const phone = await enrolTestDevice('Jana’s iPhone');
    const tablet = await pairSecondKey(phone, 'Tablet');
    await approveLogin(phone);
    await approveLogin(phone, 'deny');

    const seen = await list(tablet);
    expect(seen.unread).toBe(2);
    expect(seen.notifications.map((n) => n.type)).toEqual(['login.denied', 'login.approved']);
    expect(seen.notifications[1]!.detail).toEqual({
      client_id: 'demo',
      client_name: 'Demo Service',
      requester: { country: 'CZ', city: 'Brno', browser: 'Chrome 156', os: 'Linux' },
      device_name: 'Jana’s iPhone',
    });
    // The phone sees the tablet's pairing, but not its own logins.
    const own = await list(phone);
    expect(own.notifications.map((n) => n.type)).toEqual(['device.paired']);
    expect(own.notifications[0]!.detail).toMatchObject({ device_name: 'Tablet' });
  });

  it('a login answered from the browser session, without the phone, tells the other keys too', async () => {
    const phone = await enrolTestDevice('Jana’s iPhone');
    const tablet = await pairSecondKey(phone, 'Tablet');
    const browser = new Browser();
    await loginWithPhone(browser, (await codeRequest(await newClient())).params, phone);
    const portal = await newClient();
    await consented(phone.sub, portal.client.client_id);
    const silent = await authorizeIn(browser, (await codeRequest(portal, { prompt: 'none' })).params);
    expect(new URL(silent.headers.get('Location')!).searchParams.has('code')).toBe(true);
    // Written after the answer (waitUntil).
    await vi.waitFor(async () => {
      const [newest] = (await list(tablet)).notifications;
      expect(newest).toMatchObject({ type: 'login.approved', device_id: phone.id, detail: { client_id: portal.client.client_id, device_name: 'Jana’s iPhone' } });
    });
    // The key whose session answered is not told of its own login.
    expect((await list(phone)).notifications.map((n) => n.type)).toEqual(['device.paired']);
  });

  it('marks read per key, only forward', async () => {
    const phone = await enrolTestDevice();
    const tablet = await pairSecondKey(phone);
    await approveLogin(phone);
    await approveLogin(phone);
    const [newest, older] = (await list(tablet)).notifications;
    const read = await post('/api/notifications/read', { ...(await signedBody(tablet, 'notifications-read', String(older!.id))), up_to: older!.id });
    expect(await read.json()).toEqual({ read_up_to: older!.id });
    const after = await list(tablet);
    expect(after.unread).toBe(1);
    expect(after.notifications.map((n) => n.read)).toEqual([false, true]);
    await post('/api/notifications/read', { ...(await signedBody(tablet, 'notifications-read', String(newest!.id))), up_to: newest!.id });
    // A replayed older mark does not make anything unread again.
    const replay = await post('/api/notifications/read', { ...(await signedBody(tablet, 'notifications-read', String(older!.id))), up_to: older!.id });
    expect(await replay.json()).toEqual({ read_up_to: newest!.id });
    expect((await list(tablet)).unread).toBe(0);
    // The phone's own mark is its own.
    expect((await list(phone)).unread).toBe(1);
  });

  it('tells the other keys when a key is revoked, and sends it nothing more', async () => {
    const phone = await enrolTestDevice();
    const tablet = await pairSecondKey(phone, 'Old tablet');
    await revoke(tablet.id);
    await revoke(tablet.id);
    const seen = await list(phone);
    expect(seen.notifications.filter((n) => n.type === 'device.revoked')).toHaveLength(1);
    expect(seen.notifications[0]).toMatchObject({ type: 'device.revoked', device_id: tablet.id, detail: { device_name: 'Old tablet' } });
    expect(await problemCode(await post('/api/notifications', await signedBody(tablet, 'notifications')))).toBe('device-revoked');
  });

  it('never shows another identity’s notifications', async () => {
    const jana = await enrolTestDevice();
    const janaTablet = await pairSecondKey(jana);
    const petr = await enrolTestDevice('Petr’s phone');
    await approveLogin(jana);
    expect((await list(petr)).notifications).toEqual([]);
    // Petr's key signing as Jana's tablet: the signature does not verify with the tablet's key.
    const forged = await signDeviceMessage(petr.privateKey, deviceRequestMessage({ action: 'notifications', deviceId: janaTablet.id, timestamp: Date.now() }));
    const res = await post('/api/notifications', { device_id: janaTablet.id, timestamp: Date.now(), signature: forged });
    expect(res.status).toBe(401);
    expect(await problemCode(res)).toBe('invalid-signature');
  });

  it('stores a valid push subscription and refuses forged ones', async () => {
    const phone = await enrolTestDevice();
    const key = await call('/api/notifications/push-key');
    expect(((await key.json()) as { public_key: string }).public_key).toMatch(/^B[A-Za-z0-9_-]{86}$/);
    const ua = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const p256dh = base64urlEncode(new Uint8Array((await crypto.subtle.exportKey('raw', ua.publicKey)) as ArrayBuffer));
    const auth = base64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
    const subscribe = async (endpoint: string, keys = { p256dh, auth }) => {
      const digest = base64urlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint))));
      return post('/api/notifications/push-subscriptions', { ...(await signedBody(phone, 'push-subscribe', digest)), subscription: { endpoint, keys } });
    };
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM push_subscriptions WHERE device_id = ?1').bind(phone.id).first<{ n: number }>())!.n;

    expect((await subscribe('https://push.example/send/abc')).status).toBe(201);
    expect((await subscribe('http://127.0.0.1:9/push')).status).toBe(201);
    for (const [endpoint, keys] of [
      ['http://push.example/send/abc', { p256dh, auth }],
      ['https://user:pw@push.example/x', { p256dh, auth }],
      ['javascript:alert(1)', { p256dh, auth }],
      ['https://push.example/send/big', { p256dh: p256dh + 'AAAA', auth }],
      ['https://push.example/send/big', { p256dh: 'A'.repeat(4000), auth }],
      ['https://push.example/send/short', { p256dh, auth: 'AAAA' }],
    ] as const) {
      const res = await subscribe(endpoint, keys);
      expect(res.status, endpoint).toBe(400);
      expect(['invalid-push-subscription', 'invalid-input']).toContain(await problemCode(res));
    }
    // Signed for another endpoint than the one sent: refused.
    const digest = base64urlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('https://push.example/a'))));
    const swapped = await post('/api/notifications/push-subscriptions', {
      ...(await signedBody(phone, 'push-subscribe', digest)),
      subscription: { endpoint: 'https://push.example/b', keys: { p256dh, auth } },
    });
    expect(await problemCode(swapped)).toBe('invalid-signature');
    expect(await count()).toBe(2);
  });

  describe('push delivery', () => {
    afterEach(() => vi.restoreAllMocks());

    it('posts an encrypted, VAPID-signed message to the other keys’ subscriptions and drops one that is gone (410)', async () => {
      // Every push this isolate sends goes here: the phone's endpoint accepts, the tablet's is gone.
      const sent: Request[] = [];
      vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
        const request = input as Request;
        sent.push(request);
        return new Response(null, { status: request.url.endsWith('/tablet') ? 410 : 201 });
      });
      const phone = await enrolTestDevice();
      const tablet = await pairSecondKey(phone);
      const ua = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
      const p256dh = base64urlEncode(new Uint8Array((await crypto.subtle.exportKey('raw', ua.publicKey)) as ArrayBuffer));
      const auth = base64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
      for (const [device, endpoint] of [[phone, 'https://push.example/phone'], [tablet, 'https://push.example/tablet']] as const) {
        await env.DB.prepare('INSERT INTO push_subscriptions (endpoint, device_id, sub, p256dh, auth, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)')
          .bind(endpoint, device.id, device.sub, p256dh, auth)
          .run();
      }
      await deliverPush(env, phone.sub, phone.id, { type: 'login.approved', at: Date.now(), client_name: 'Demo' });
      // The phone caused the event: only the tablet is told (the pairing's own push may have reached the phone).
      const toTablet = sent.filter((r) => r.url === 'https://push.example/tablet');
      expect(toTablet).toHaveLength(1);
      expect(toTablet[0]!.headers.get('Content-Encoding')).toBe('aes128gcm');
      expect(toTablet[0]!.headers.get('Authorization')).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=B[\w-]{86}$/);
      const left = await env.DB.prepare('SELECT endpoint FROM push_subscriptions WHERE sub = ?1').bind(phone.sub).all<{ endpoint: string }>();
      expect(left.results.map((r) => r.endpoint)).toEqual(['https://push.example/phone']);
    });

    it('an answer pushes to the other keys’ subscriptions, never to the key that answered', async () => {
      const sent: string[] = [];
      vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
        sent.push((input as Request).url);
        return new Response(null, { status: 201 });
      });
      const ua = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
      const p256dh = base64urlEncode(new Uint8Array((await crypto.subtle.exportKey('raw', ua.publicKey)) as ArrayBuffer));
      const auth = base64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
      const subscribe = (device: TestDevice, endpoint: string) =>
        env.DB.prepare('INSERT INTO push_subscriptions (endpoint, device_id, sub, p256dh, auth, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)')
          .bind(endpoint, device.id, device.sub, p256dh, auth)
          .run();
      const phone = await enrolTestDevice();
      await subscribe(phone, 'https://push.example/answer-phone');
      const tablet = await pairSecondKey(phone);
      await subscribe(tablet, 'https://push.example/answer-tablet');
      const toPhone = () => sent.filter((url) => url === 'https://push.example/answer-phone').length;
      // The pairing tells the phone (not the tablet, whose event it is).
      await vi.waitFor(() => expect(toPhone()).toBe(1));
      await approveLogin(tablet);
      // Sent after the tablet's answer, from the D1 batch that stored the notification.
      await vi.waitFor(() => expect(toPhone()).toBe(2));
      expect(sent).not.toContain('https://push.example/answer-tablet');
      expect((await list(phone)).notifications[0]).toMatchObject({ type: 'login.approved', device_id: tablet.id });
    });
  });
});
