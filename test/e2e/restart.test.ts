/**
 * The local server is stopped and started again in the middle of a login, with the same
 * persistence folder, port and secrets (so the issuer and the signing keys stay the same).
 * The login must carry on: the page reconnects and gets the current state, an approval after
 * the restart completes the flow, and the expiry alarm still fires — on time when the deadline
 * falls after the restart, and as soon as the server is back when it fell during the outage.
 *
 * The alarm checks are wall-clock behaviour of a real server across a process restart, not a
 * unit test of the object (test/worker/faults.test.ts does that with runDurableObjectAlarm), so
 * here waiting on real time is the point: every wait is bounded, and the page's WebSocket push
 * and the state endpoint are what is observed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLogin, scanLogin, type KeyStore } from '../../cli/lib/mobile-client.ts';
import { continueToRp, enrolPhone, openPage, redeem, registerRp, startLogin, type FlowServer, type PageSocket, type RpClient } from './flow.ts';
import { startTestServer, type RunningServer } from './server.ts';

/** Stops the server and starts it again on the same port, folder and secrets. @returns the new server and the restart's duration (ms). */
async function restart(server: RunningServer, vars?: Record<string, string>): Promise<{ server: RunningServer; downMs: number }> {
  const t0 = performance.now();
  await server.stop();
  const again = await startTestServer({ secrets: server.secrets, port: server.port, persistTo: server.persistTo, ...(vars ? { vars } : {}) });
  return { server: again, downMs: Math.round(performance.now() - t0) };
}

/** The page's socket must be dropped by the stop (bounded wait). */
async function expectDropped(page: PageSocket): Promise<void> {
  const code = await Promise.race([page.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 10_000))]);
  expect(code).not.toBe('open');
}

async function stateOf(server: RunningServer, loginId: string, cookie: string): Promise<string> {
  const res = await fetch(`${server.url}/login/${loginId}/state`, { headers: { Cookie: cookie } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { state: string }).state;
}

describe('a login across a server restart', () => {
  let server: RunningServer;
  let flow: FlowServer;
  let rp: RpClient;
  let key: KeyStore;

  beforeAll(async () => {
    server = await startTestServer();
    flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    rp = await registerRp(flow, { name: 'Restart Service' });
    key = await enrolPhone(flow, { givenName: 'Petra', familyName: 'Restartová' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the page reconnects to the current state and an approval after the restart completes the login', async () => {
    const login = await startLogin(flow, rp);
    const page = await openPage(flow, login.loginId, login.cookie);
    const scanned = await scanLogin({ loginUrl: login.loginUrl, store: key });
    await page.waitForState('scanned');

    const restarted = await restart(server);
    server = restarted.server;
    await expectDropped(page);
    console.log(`[restart] stop + start with the same storage: ${restarted.downMs} ms`);

    // The page reconnects and gets the state it had, with the same deadline.
    const again = await openPage(flow, login.loginId, login.cookie);
    const [first] = again.snapshots();
    expect(first).toMatchObject({ id: login.loginId, state: 'scanned', expiresAt: login.snapshot.expiresAt });
    expect(first).not.toHaveProperty('device');

    // The phone answers with the nonce it got before the restart.
    const answer = await answerLogin({ server: scanned.server, loginId: scanned.loginId, nonce: scanned.context.nonce, decision: 'approve', store: key });
    expect(answer).toMatchObject({ status: 'approved', sub: key.sub, client_name: 'Restart Service' });
    expect(await again.waitForState('approved')).toMatchObject({ id: login.loginId, continueUrl: `/login/${login.loginId}/continue` });
    await again.close();

    // Same issuer and signing keys: the relying service's validation of the ID token passes.
    const tokens = await redeem(rp, login, await continueToRp(flow, rp, login));
    expect(tokens.idToken.sub).toBe(key.sub);
    expect(tokens.userinfo).toMatchObject({ sub: key.sub, given_name: 'Petra', family_name: 'Restartová' });
  });
});

describe('the expiry alarm across a server restart', () => {
  /** Short enough to outlast in an outage; each restart takes several seconds (migrations, workerd). */
  const SHORT = '3';
  /** Long enough that the deadline falls after the restart. */
  const LONG = '15';
  let server: RunningServer;
  let flow: FlowServer;
  let rp: RpClient;

  beforeAll(async () => {
    server = await startTestServer({ vars: { LOGIN_VALIDITY_SECONDS: SHORT } });
    flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    rp = await registerRp(flow, { name: 'Expiry Service' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a deadline that passed while the server was down expires the login as soon as it is back', async () => {
    const login = await startLogin(flow, rp);
    expect(login.snapshot.expiresAt - login.snapshot.now).toBeLessThanOrEqual(Number(SHORT) * 1000);
    const t0 = performance.now();
    await server.stop();
    // An outage that outlasts the login (bounded by its 3 s validity).
    const left = login.snapshot.expiresAt - Date.now() + 200;
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    server = await startTestServer({ secrets: server.secrets, port: server.port, persistTo: server.persistTo, vars: { LOGIN_VALIDITY_SECONDS: LONG } });
    const upAt = Date.now();
    console.log(`[restart] outage past the deadline: ${Math.round(performance.now() - t0)} ms`);

    const page = await openPage(flow, login.loginId, login.cookie);
    const expired = await page.waitForState('expired', 5_000);
    expect(expired).toMatchObject({ id: login.loginId, restartUrl: `/login/${login.loginId}/restart` });
    expect(Date.now() - upAt).toBeLessThan(5_000);
    await page.flush();
    expect(page.snapshots().filter((s) => s.state === 'expired')).toHaveLength(1);
    expect(await stateOf(server, login.loginId, login.cookie)).toBe('expired');
    await page.close();
  });

  it('a deadline after the restart: the alarm armed before it fires on time', async () => {
    const login = await startLogin(flow, rp);
    const validityMs = login.snapshot.expiresAt - login.snapshot.now;
    expect(validityMs).toBeGreaterThan(Number(LONG) * 1000 - 1000);
    const page = await openPage(flow, login.loginId, login.cookie);

    const restarted = await restart(server, { LOGIN_VALIDITY_SECONDS: LONG });
    server = restarted.server;
    await expectDropped(page);
    // The deadline must still be ahead, or this would test the case above.
    expect(Date.now()).toBeLessThan(login.snapshot.expiresAt - 1000);

    const again = await openPage(flow, login.loginId, login.cookie);
    expect(again.snapshots()[0]).toMatchObject({ state: 'pending', expiresAt: login.snapshot.expiresAt });
    const expired = await again.waitForState('expired', login.snapshot.expiresAt - Date.now() + 5_000);
    const lateMs = again.receivedAt[again.messages.indexOf(expired)]! - performance.now() + Date.now() - login.snapshot.expiresAt;
    console.log(`[restart] alarm after restart: page told ${Math.round(lateMs)} ms after the deadline`);
    expect(lateMs).toBeGreaterThanOrEqual(-50); // never early (same machine clock)
    expect(lateMs).toBeLessThan(3_000);
    expect(expired.now).toBeGreaterThanOrEqual(login.snapshot.expiresAt);
    expect(await stateOf(server, login.loginId, login.cookie)).toBe('expired');
    await again.close();
  });
});
