/**
 * The console session's idle timeout (issue 15): unused for CONSOLE_IDLE_SECONDS (default 15
 * minutes) it ends; each use moves the deadline, never past 8 hours after the login; the live
 * figures' background refresh is no use.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { consoleIdleSeconds, createSession, DEFAULT_IDLE_SECONDS, loadSession, SESSION_TTL_SECONDS } from '../../src/console/session.ts';
import { consoleBrowser, newOperator } from './console-support.ts';

const expiry = async (sub: string) =>
  (await env.DB.prepare('SELECT expires_at FROM console_sessions WHERE sub = ?1').bind(sub).first<{ expires_at: number }>())!.expires_at;

describe('consoleIdleSeconds', () => {
  it('reads whole seconds from the var, at least a minute and at most 8 hours; else 15 minutes', () => {
    expect(DEFAULT_IDLE_SECONDS).toBe(900);
    expect(consoleIdleSeconds({ CONSOLE_IDLE_SECONDS: '600' })).toBe(600);
    expect(consoleIdleSeconds({ CONSOLE_IDLE_SECONDS: '999999' })).toBe(SESSION_TTL_SECONDS);
    for (const bad of [undefined, '', '0', '59', '-5', '1e3', '15 min']) expect(consoleIdleSeconds({ CONSOLE_IDLE_SECONDS: bad })).toBe(900);
    expect(consoleIdleSeconds(env)).toBe(900);
  });
});

describe('the console session ends when idle', () => {
  it('each use moves the deadline by the idle timeout; unused that long, it is gone; 8 hours at most', async () => {
    const sub = await newOperator('clerk');
    const t0 = Date.now();
    const idle = { idleSeconds: 900 };
    const { token } = await createSession(env.DB, sub, t0, t0, 900);
    expect(await loadSession(env.DB, token, t0 + 899_000, idle)).toMatchObject({ sub });
    // Used at 899 s: alive until 899 + 900 s.
    expect(await loadSession(env.DB, token, t0 + 1798_000)).toMatchObject({ sub });
    expect(await loadSession(env.DB, token, t0 + 1799_001)).toBeNull();

    const { token: busy } = await createSession(env.DB, sub, t0, t0, 900);
    let at = t0;
    while (at + 800_000 < t0 + SESSION_TTL_SECONDS * 1000) {
      at += 800_000;
      expect(await loadSession(env.DB, busy, at, idle), String(at - t0)).toMatchObject({ sub });
    }
    expect(await loadSession(env.DB, busy, t0 + SESSION_TTL_SECONDS * 1000 + 1, idle)).toBeNull();
  });

  it('pages move the deadline, the figures’ refresh does not; after it the start page says the session ended', async () => {
    const admin = await consoleBrowser('admin');
    await env.DB.prepare('UPDATE console_sessions SET expires_at = ?2 WHERE sub = ?1').bind(admin.sub, Date.now() + 60_000).run();
    const before = await expiry(admin.sub);
    expect((await admin.get('/console/figures.json')).status).toBe(200);
    expect(await expiry(admin.sub)).toBe(before);
    expect((await admin.get('/console/audit')).status).toBe(200);
    expect(await expiry(admin.sub)).toBeGreaterThan(Date.now() + 800_000);

    await env.DB.prepare('UPDATE console_sessions SET expires_at = ?2 WHERE sub = ?1').bind(admin.sub, Date.now() - 1).run();
    const gone = await admin.get('/console/counter');
    expect(gone.status).toBe(303);
    expect(gone.headers.get('Location')).toBe('/console?ended');
    expect(gone.headers.getSetCookie().some((c) => /^__Host-mk_console=;/.test(c))).toBe(true);
    const start = await (await admin.get('/console?ended')).text();
    expect(start).toContain('id="session-ended"');
    expect(start).toContain('Relace konzole skončila po nečinnosti');
    expect((await admin.post('/console/people', { csrf: admin.csrf, given_name: 'Idle', family_name: 'Nobody' })).status).toBe(403);
  });
});
