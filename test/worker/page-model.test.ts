import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, HEARTBEAT_TIMEOUT_MS, LoginConnection, type ConnectionDeps, type SocketLike } from '../../client/login/connection.ts';
import {
  BACKOFF,
  backoffDelay,
  clockOffset,
  embedJson,
  formatRemaining,
  frameAt,
  isoDuration,
  isSnapshot,
  mergeSnapshot,
  POLL_INTERVAL_MS,
  remainingMs,
  statusSentence,
  viewOf,
  webSocketUrl,
  type ConnectionStatus,
} from '../../client/login/model.ts';
import { LOW_TIME_MS, pageText, statusText } from '../../client/login/LoginPage.tsx';
import { chooseLocale, localeFromAcceptLanguage, messages } from '../../client/shared/i18n.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';

const ID = 'ab'.repeat(32);

function snap(state: LoginSnapshot['state'], extra: Partial<LoginSnapshot> = {}): LoginSnapshot {
  return { type: 'snapshot', id: ID, state, expiresAt: 1_000_180_000, now: 1_000_000_000, client: { name: 'Demo' }, locale: 'cs', ...extra };
}

describe('countdown', () => {
  it('formats m:ss rounding up, so 0:00 means the time is really up', () => {
    expect(formatRemaining(180_000)).toBe('3:00');
    expect(formatRemaining(179_001)).toBe('3:00');
    expect(formatRemaining(179_000)).toBe('2:59');
    expect(formatRemaining(61_000)).toBe('1:01');
    expect(formatRemaining(9_500)).toBe('0:10');
    expect(formatRemaining(1)).toBe('0:01');
    expect(formatRemaining(0)).toBe('0:00');
    expect(formatRemaining(-5_000)).toBe('0:00');
    expect(isoDuration(179_000)).toBe('PT2M59S');
  });

  it("counts from the server's clock, not the browser's", () => {
    // The browser's clock is 5 minutes fast: without the offset the login would look expired.
    const browserNow = 1_000_300_000;
    const offset = clockOffset(1_000_000_000, browserNow);
    expect(offset).toBe(-300_000);
    expect(remainingMs(1_000_180_000, browserNow, offset)).toBe(180_000);
    expect(remainingMs(1_000_180_000, browserNow + 30_000, offset)).toBe(150_000);
    expect(remainingMs(1_000_180_000, browserNow + 999_999, offset)).toBe(0);
  });
});

describe('backoff', () => {
  it('grows exponentially from the base to the cap', () => {
    expect(backoffDelay(0, 1)).toBe(BACKOFF.baseMs);
    expect(backoffDelay(1, 1)).toBe(BACKOFF.baseMs * 2);
    expect(backoffDelay(3, 1)).toBe(BACKOFF.baseMs * 8);
    expect(backoffDelay(50, 1)).toBe(BACKOFF.capMs);
    expect(backoffDelay(0, 0)).toBe(BACKOFF.baseMs / 2);
  });

  it('stays within [half, whole] of the capped exponential delay for any attempt and randomness', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        const ceiling = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.min(attempt, 30));
        const delay = backoffDelay(attempt, random);
        return delay >= Math.floor(ceiling / 2) && delay <= ceiling && delay >= BACKOFF.baseMs / 2;
      }),
    );
  });
});

describe('snapshots', () => {
  it('never loses a decision to a late snapshot', () => {
    const approved = snap('approved', { continueUrl: `/login/${ID}/continue` });
    expect(mergeSnapshot(approved, snap('pending'))).toBe(approved);
    expect(mergeSnapshot(approved, snap('scanned'))).toBe(approved);
    expect(mergeSnapshot(snap('pending'), approved)).toBe(approved);
    expect(mergeSnapshot(snap('scanned'), snap('denied')).state).toBe('denied');
    const other = snap('approved', { id: 'cd'.repeat(32) });
    expect(mergeSnapshot(snap('pending'), other).state).toBe('pending');
  });

  it('never shows a scanned login as pending again (a poll answered before the scan, arriving after it)', () => {
    const scanned = snap('scanned');
    expect(mergeSnapshot(scanned, snap('pending', { loginUrl: 'http://x/key/login#a.s1.m' }))).toBe(scanned);
    const newer = snap('pending', { now: 1_000_001_000 });
    expect(mergeSnapshot(snap('pending'), newer)).toBe(newer);
  });

  it('shows each frame in its second, with the QR the server drew for it', () => {
    const frames = snap('pending', {
      loginUrl: 'http://x/key/login#a.r5.m',
      qr: 'drawn-5',
      nextFrames: [6, 7, 8].map((step) => ({ at: 1_000_000_000 + (step - 5) * 1000, loginUrl: `http://x/key/login#a.r${step}.m`, qr: `drawn-${step}` })),
    });
    expect(frameAt(frames, 1_000_000_999)).toEqual({ loginUrl: 'http://x/key/login#a.r5.m', qr: 'drawn-5' });
    expect(frameAt(frames, 1_000_001_000)).toMatchObject({ loginUrl: 'http://x/key/login#a.r6.m', qr: 'drawn-6' });
    expect(frameAt(frames, 1_000_009_000)).toMatchObject({ qr: 'drawn-8' });
    expect(frameAt(snap('pending', { loginUrl: 'http://x/key/login#a.s5.m' }), 1_000_009_000)).toEqual({ loginUrl: 'http://x/key/login#a.s5.m', qr: undefined });
    expect(frameAt(snap('scanned'), 1_000_000_000)).toBeUndefined();
  });

  it('accepts only snapshots from the server', () => {
    expect(isSnapshot(snap('pending'))).toBe(true);
    expect(isSnapshot({ type: 'urn:mobile-key:problem:bad-request', status: 400 })).toBe(false);
    expect(isSnapshot({ ...snap('pending'), state: 'hacked' })).toBe(false);
    expect(isSnapshot({ ...snap('pending'), client: null })).toBe(false);
    expect(isSnapshot(null)).toBe(false);
    expect(isSnapshot('{"type":"snapshot"}')).toBe(false);
  });

  it('shows the QR only while pending, the way on only when approved, start again only when ended', () => {
    const pending = viewOf(snap('pending', { loginUrl: 'http://x/key/login#a.b' }));
    expect(pending).toMatchObject({ state: 'pending', loginUrl: 'http://x/key/login#a.b', showCountdown: true, serviceName: 'Demo' });
    expect(viewOf(snap('scanned'))).toMatchObject({ state: 'scanned', showCountdown: true });
    expect(viewOf(snap('scanned'))).not.toHaveProperty('loginUrl');
    expect(viewOf(snap('approved', { continueUrl: '/c' }))).toMatchObject({ continueUrl: '/c', showCountdown: false });
    expect(viewOf(snap('approved', { continueUrl: '/c' }))).not.toHaveProperty('restartUrl');
    for (const state of ['denied', 'expired', 'cancelled'] as const) {
      const view = viewOf(snap(state, { restartUrl: '/r' }));
      expect(view).toMatchObject({ restartUrl: '/r', showCountdown: false });
      expect(view).not.toHaveProperty('continueUrl');
    }
  });

  it('embeds JSON that cannot end a script element', () => {
    const value = { name: '</script><!-- & \u2028' };
    const text = embedJson(value);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('derives the WebSocket URL from the page URL', () => {
    expect(webSocketUrl(`http://localhost:8787/login/${ID}?lang=en`, ID)).toBe(`ws://localhost:8787/login/${ID}/ws`);
    expect(webSocketUrl(`https://login.example/login/${ID}`, ID)).toBe(`wss://login.example/login/${ID}/ws`);
  });
});

describe('live region', () => {
  it('says one sentence per state and warns once when little time is left', () => {
    const cs = messages('cs');
    expect(statusText(cs, viewOf(snap('pending')))).toBe('Čekáme na naskenování QR kódu.');
    expect(statusText(cs, viewOf(snap('pending')), true)).toBe(
      'Čekáme na naskenování QR kódu. Platnost vyprší za méně než 30 sekund.',
    );
    expect(statusText(cs, viewOf(snap('scanned')))).toBe(
      'QR kód naskenován mobilním klíčem. Potvrďte přihlášení v telefonu.',
    );
    expect(statusText(messages('en'), viewOf(snap('approved')), true)).toBe('Login confirmed. Continuing to Demo.');
    expect(statusText(cs, viewOf(snap('expired')), true)).toBe('Platnost přihlášení vypršela.');
    expect(LOW_TIME_MS).toBe(30_000);
  });

  it("the script's sentences come from the page, in its language, the number filled in", () => {
    const en = pageText(messages('en'), 'Demo');
    expect(Object.keys(en.status)).toEqual(['pending', 'scanned', 'approved', 'denied', 'expired', 'cancelled']);
    const scanned = viewOf(snap('scanned', { matchNumber: 42 }));
    expect(statusSentence(en, scanned)).toBe('QR code scanned by a mobile key. Confirm the login on your phone. On your phone, pick the number 42.');
    expect(statusSentence(pageText(messages('cs'), 'Demo'), scanned, true)).toBe(
      'QR kód naskenován mobilním klíčem. Potvrďte přihlášení v telefonu. V telefonu vyberte číslo 42. Platnost vyprší za méně než 30 sekund.',
    );
    expect(statusSentence(en, viewOf(snap('scanned', { matchNumber: 7 })))).toBe('QR code scanned by a mobile key. Confirm the login on your phone.');
    expect(statusSentence(en, viewOf(snap('denied')), true)).toBe('The login was denied on the phone.');
  });
});

describe('locale', () => {
  it('prefers ?lang, then the cookie, then the login, then Accept-Language, then Czech', () => {
    expect(chooseLocale({ query: 'en', cookie: 'cs', login: 'cs' })).toBe('en');
    expect(chooseLocale({ query: 'de', cookie: 'en', login: 'cs' })).toBe('en');
    expect(chooseLocale({ login: 'en' })).toBe('en');
    expect(chooseLocale({ acceptLanguage: 'de-DE, en;q=0.8' })).toBe('en');
    expect(chooseLocale({ acceptLanguage: 'de-DE' })).toBe('cs');
    expect(chooseLocale({})).toBe('cs');
  });

  it('ranks Accept-Language by quality', () => {
    expect(localeFromAcceptLanguage('en;q=0.5, cs;q=0.9')).toBe('cs');
    expect(localeFromAcceptLanguage('cs-CZ;q=0, en-US')).toBe('en');
    expect(localeFromAcceptLanguage('*')).toBeUndefined();
    expect(localeFromAcceptLanguage(null)).toBeUndefined();
  });

  it('has the same keys in both languages and natural Czech', () => {
    const keys = (o: object): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && !Array.isArray(v) ? keys(v).map((s) => `${k}.${s}`) : [k]));
    expect(keys(messages('en'))).toEqual(keys(messages('cs')));
    const cs = messages('cs');
    expect(cs.title).toBe('Přihlášení mobilním klíčem');
    expect(cs.steps.openApp).toContain('Spusťte aplikaci Mobilní klíč');
    expect(cs.launch).toBe('Spustit mobilní klíč na tomto zařízení');
    expect(cs.createMobileKey).toBe('Vytvořit mobilní klíč');
    expect(cs.expiresIn).toBe('Platnost vyprší za');
    expect(messages('xx').title).toBe(cs.title);
  });
});

/** Fake browser: sockets the test opens and closes, a fetch it answers, and a manual clock. */
function fakeBrowser() {
  const sockets: (SocketLike & { sent: string[]; closed: boolean })[] = [];
  const fetches: string[] = [];
  let stateReply: unknown = undefined;
  let clock = 0;
  let nextHandle = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const deps: ConnectionDeps = {
    openSocket: () => {
      const socket = {
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
        sent: [] as string[],
        closed: false,
        send(data: string) {
          this.sent.push(data);
        },
        close() {
          this.closed = true;
        },
      };
      sockets.push(socket);
      return socket;
    },
    fetchState: async (url) => {
      fetches.push(url);
      return stateReply;
    },
    setTimeout: (fn, ms) => {
      const handle = nextHandle++;
      timers.set(handle, { at: clock + ms, fn });
      return handle;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
    random: () => 0.5,
  };
  return {
    deps,
    sockets,
    fetches,
    timers,
    reply(value: unknown) {
      stateReply = value;
    },
    /** Runs due timers in order while moving the clock forward by `ms`. */
    async advance(ms: number) {
      const until = clock + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        clock = due[1].at;
        due[1].fn();
        await Promise.resolve();
      }
      clock = until;
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

function connect(browser: ReturnType<typeof fakeBrowser>) {
  const snapshots: LoginSnapshot[] = [];
  const statuses: ConnectionStatus[] = [];
  const connection = new LoginConnection(`http://localhost:8787/login/${ID}`, ID, {
    snapshot: (s) => snapshots.push(s),
    status: (s) => statuses.push(s),
  }, browser.deps);
  connection.start();
  return { connection, snapshots, statuses };
}

describe('LoginConnection', () => {
  it('goes live on open and delivers snapshots, ignoring anything else', () => {
    const browser = fakeBrowser();
    const { snapshots, statuses } = connect(browser);
    expect(statuses).toEqual(['connecting']);
    const ws = browser.sockets[0]!;
    ws.onopen!({});
    expect(statuses).toEqual(['connecting', 'live']);
    ws.onmessage!({ data: JSON.stringify(snap('pending')) });
    ws.onmessage!({ data: '{"type":"urn:mobile-key:problem:bad-request","status":400}' });
    ws.onmessage!({ data: 'not json' });
    ws.onmessage!({ data: JSON.stringify(snap('scanned')) });
    expect(snapshots.map((s) => s.state)).toEqual(['pending', 'scanned']);
  });

  it('when the socket drops, polls meanwhile and reconnects with growing delays', async () => {
    const browser = fakeBrowser();
    const { statuses } = connect(browser);
    browser.sockets[0]!.onopen!({});
    browser.sockets[0]!.onclose!({});
    expect(statuses.at(-1)).toBe('lost');
    expect(browser.fetches).toEqual([`http://localhost:8787/login/${ID}/state`]);

    // First retry after the jittered base delay (random 0.5 → 75 % of 500 ms).
    await browser.advance(backoffDelay(0, 0.5) - 1);
    expect(browser.sockets).toHaveLength(1);
    await browser.advance(1);
    expect(browser.sockets).toHaveLength(2);
    browser.sockets[1]!.onerror!({});
    await browser.advance(backoffDelay(1, 0.5) - 1);
    expect(browser.sockets).toHaveLength(2);
    await browser.advance(1);
    expect(browser.sockets).toHaveLength(3);
    browser.sockets[2]!.onclose!({});

    // Polling keeps going every POLL_INTERVAL_MS while disconnected.
    const before = browser.fetches.length;
    await browser.advance(POLL_INTERVAL_MS * 2);
    expect(browser.fetches.length).toBeGreaterThanOrEqual(before + 2);

    // A successful reconnect stops polling and resets the backoff.
    const latest = browser.sockets.at(-1)!;
    latest.onopen!({});
    expect(statuses.at(-1)).toBe('live');
    const polled = browser.fetches.length;
    await browser.advance(POLL_INTERVAL_MS * 3);
    expect(browser.fetches.length).toBe(polled);
  });

  it('delivers a decision made while disconnected (by polling) and then stops', async () => {
    const browser = fakeBrowser();
    const { snapshots } = connect(browser);
    browser.sockets[0]!.onopen!({});
    browser.sockets[0]!.onmessage!({ data: JSON.stringify(snap('scanned')) });
    browser.reply(new Promise(() => {})); // the first poll hangs (network down)
    browser.sockets[0]!.onclose!({});
    browser.reply(snap('approved', { continueUrl: `/login/${ID}/continue` }));
    // Reconnect attempts keep failing; the next poll brings the approval.
    browser.deps.openSocket = (() => {
      throw new Error('offline');
    }) as ConnectionDeps['openSocket'];
    await browser.advance(POLL_INTERVAL_MS);
    expect(snapshots.at(-1)).toMatchObject({ state: 'approved', continueUrl: `/login/${ID}/continue` });
    expect(browser.timers.size).toBe(0);
  });

  it('treats a missing pong as a dead connection', async () => {
    const browser = fakeBrowser();
    const { statuses } = connect(browser);
    const ws = browser.sockets[0]!;
    ws.onopen!({});
    await browser.advance(HEARTBEAT_MS);
    expect(ws.sent).toEqual(['{"type":"ping"}']);
    ws.onmessage!({ data: '{"type":"pong"}' });
    // The next ping goes out HEARTBEAT_MS after the pong; this time nothing answers it.
    await browser.advance(HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS - 1);
    expect(ws.sent).toHaveLength(2);
    expect(statuses.at(-1)).toBe('live');
    await browser.advance(1);
    expect(statuses.at(-1)).toBe('lost');
    expect(ws.closed).toBe(true);
    expect(browser.sockets).toHaveLength(1);
    expect(browser.fetches).toHaveLength(1);
  });

  it('stops listening once the login reaches a final state', async () => {
    const browser = fakeBrowser();
    const { snapshots } = connect(browser);
    const ws = browser.sockets[0]!;
    ws.onopen!({});
    ws.onmessage!({ data: JSON.stringify(snap('expired', { restartUrl: '/r' })) });
    expect(ws.closed).toBe(true);
    expect(browser.timers.size).toBe(0);
    await browser.advance(60_000);
    expect(browser.sockets).toHaveLength(1);
    expect(snapshots).toHaveLength(1);
  });

  it('refresh asks over the socket when live and by a poll otherwise', async () => {
    const browser = fakeBrowser();
    const { connection } = connect(browser);
    connection.refresh();
    expect(browser.fetches).toHaveLength(1);
    browser.sockets[0]!.onopen!({});
    connection.refresh();
    expect(browser.sockets[0]!.sent).toEqual(['{"type":"refresh"}']);
    expect(browser.fetches).toHaveLength(1);
  });

  it('a hidden page says so on every socket it opens and asks again for frames when shown', async () => {
    const browser = fakeBrowser();
    const { connection } = connect(browser);
    connection.setHidden(true);
    const first = browser.sockets[0]!;
    first.onopen!({});
    expect(first.sent).toEqual(['{"type":"hidden"}']);
    first.onclose!({});
    await browser.advance(60_000);
    const second = browser.sockets[1]!;
    second.onopen!({});
    expect(second.sent).toEqual(['{"type":"hidden"}']);
    connection.setHidden(false);
    expect(second.sent).toEqual(['{"type":"hidden"}', '{"type":"refresh"}']);
    connection.setHidden(true);
    expect(second.sent.at(-1)).toBe('{"type":"hidden"}');
  });
});
