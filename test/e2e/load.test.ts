import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStore } from '../../cli/lib/mobile-client.ts';
import {
  approveOnPhone,
  continueToRp,
  enrolPhone,
  inPool,
  openPage,
  redeem,
  registerRp,
  startLogin,
  type FlowServer,
  type PageSocket,
  type RpClient,
  type StartedLogin,
} from './flow.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

/** Logins held open at once: every page's WebSocket stays open until all are approved. */
const LOGINS = 300;
/** HTTP steps in flight at once (a 2-core machine runs the server and this client). */
const POOL = 24;
/** Enrolled phones; login i is approved by phone i % PHONES. */
const PHONES = 12;

describe(`${LOGINS} concurrent logins against one local server`, () => {
  let server: RunningServer;
  let flow: FlowServer;
  let rp: RpClient;
  let phones: KeyStore[];
  const pages: PageSocket[] = [];

  beforeAll(async () => {
    server = await sharedTestServer();
    flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    rp = await registerRp(flow, { name: 'Load Test Service' });
    phones = await inPool(Array.from({ length: PHONES }, (_, i) => i), 4, (i) =>
      enrolPhone(flow, { givenName: `Person${i}`, familyName: 'Loadová', deviceName: `Phone ${i}` }),
    );
  });
  afterAll(async () => {
    await Promise.all(pages.map((page) => page.close()));
    await server?.stop();
  });

  it('all complete; each page gets only its own result; no login is lost or doubled', { timeout: 300_000 }, async () => {
    const phase: Record<string, number> = {};
    const t0 = performance.now();
    let mark = t0;
    const lap = (name: string) => {
      const now = performance.now();
      phase[name] = Math.round(now - mark);
      mark = now;
    };
    const phoneOf = (i: number) => phones[i % PHONES]!;

    // 1. Every browser starts its login and keeps its page's WebSocket open.
    const logins: StartedLogin[] = await inPool(Array.from({ length: LOGINS }), POOL, async (_, i) => {
      const login = await startLogin(flow, rp);
      pages[i] = await openPage(flow, login.loginId, login.cookie, 30_000);
      return login;
    });
    lap('start + open pages');
    expect(new Set(logins.map((l) => l.loginId)).size).toBe(LOGINS);
    expect(pages.filter(Boolean)).toHaveLength(LOGINS);

    // 2. The phones approve them all while all 300 pages listen.
    const answers = await inPool(logins, POOL, (login, i) => approveOnPhone(phoneOf(i), login.loginUrl));
    lap('phones scan + approve');
    answers.forEach((answer, i) => {
      expect(answer).toMatchObject({ status: 'approved', client_name: 'Load Test Service', sub: phoneOf(i).sub });
      expect(answer.context.login_id).toBe(logins[i]!.loginId);
    });

    // 3. Every page hears of its approval.
    await Promise.all(pages.map((page) => page.waitForState('approved', 30_000)));
    lap('pages receive approval');

    // 4. Each browser returns to the service with one code; the service redeems it and reads UserInfo.
    //    As in a browser, the page (and its socket) stays open until the service has answered.
    const redeemed = await inPool(logins, POOL, async (login) => redeem(rp, login, await continueToRp(flow, rp, login)));
    lap('continue + token + userinfo');
    redeemed.forEach((r, i) => {
      expect(r.idToken.sub).toBe(phoneOf(i).sub);
      expect(r.idToken.nonce).toBe(logins[i]!.nonce);
      expect(r.userinfo).toMatchObject({ sub: phoneOf(i).sub, given_name: `Person${i % PHONES}`, family_name: 'Loadová' });
      expect(r.code.startsWith(`${logins[i]!.loginId}.`)).toBe(true);
    });
    expect(new Set(redeemed.map((r) => r.code)).size).toBe(LOGINS);
    expect(new Set(redeemed.map((r) => r.accessToken)).size).toBe(LOGINS);

    // Every page saw its own login go pending → scanned → approved, and nothing else: scanned and
    // approved once each; pending every 3 s while it lasted (each with the QR's next frames).
    // flush() is a barrier (ping/pong on the same ordered socket), so nothing sent before it is missed.
    await Promise.all(pages.map((page) => page.flush(30_000)));
    pages.forEach((page, i) => {
      const snapshots = page.snapshots();
      expect(snapshots.map((s) => s.id)).toEqual(snapshots.map(() => logins[i]!.loginId));
      const pending = snapshots.filter((s) => s.state === 'pending');
      expect(snapshots.map((s) => s.state)).toEqual([...pending.map(() => 'pending'), 'scanned', 'approved']);
      expect(new Set(pending.map((s) => s.loginUrl)).size).toBe(pending.length);
      expect(snapshots.at(-1)!.continueUrl).toBe(`/login/${logins[i]!.loginId}/continue`);
      expect(page.messages.filter((m) => m.type !== 'snapshot').map((m) => m.type)).toEqual(['pong']);
    });
    await Promise.all(pages.map((page) => page.close()));

    // 5. None doubled: no login yields a second code, and each identity's audit trail holds
    //    exactly one approval per login its phone approved.
    const again = await inPool(logins, POOL, async (login) => {
      const res = await fetch(`${server.url}/login/${login.loginId}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
      return { status: res.status, location: res.headers.get('Location'), body: (await res.json()) as { type?: string } };
    });
    for (const res of again) {
      expect(res).toMatchObject({ status: 409, location: null, body: { type: 'urn:mobile-key:problem:conflict' } });
    }
    const audits = await inPool(phones, 4, async (phone) => {
      const res = await fetch(`${server.url}/admin/identities/${phone.sub}/audit?limit=1000`, {
        headers: { Authorization: `Bearer ${flow.adminToken}` },
      });
      const body = (await res.json()) as { events: { type: string; detail: { login_id?: string } | null }[] };
      return body.events.filter((e) => e.type === 'login.approved').map((e) => e.detail?.login_id);
    });
    audits.forEach((approvedIds, p) => {
      const expected = logins.filter((_, i) => i % PHONES === p).map((l) => l.loginId);
      expect([...approvedIds].sort()).toEqual([...expected].sort());
    });
    lap('checks');

    const totalMs = Math.round(performance.now() - t0);
    const decision = answers
      .map((a, i) => pages[i]!.receivedAt[pages[i]!.messages.findIndex((m) => m.state === 'approved')]! - a.answerSentAt)
      .sort((a, b) => a - b);
    const pct = (p: number) => Math.round(decision[Math.min(decision.length - 1, Math.floor((p / 100) * decision.length))]!);
    console.log(
      `[load] ${LOGINS} logins, pool ${POOL}: total ${totalMs} ms (${((LOGINS / totalMs) * 1000).toFixed(1)} logins/s); ` +
        `phases ${JSON.stringify(phase)}; decision-to-page p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${pct(100)} ms`,
    );
  });
});
