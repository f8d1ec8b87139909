/**
 * Figure 3: memory of the local runtime (workerd's resident set) per pending login whose page
 * WebSocket stays open, against the same number of sockets held by a trivial Durable Object.
 */
import { inPool, openPage, startLogin, type FlowServer, type PageSocket, type RpClient } from '../test/e2e/flow.ts';
import { openSocket } from './echo.ts';
import { groupRssOf } from './lib/stats.ts';

export interface HeldResult {
  logins: number;
  /** workerd RSS in bytes before and after. */
  before: number;
  after: number;
  perLogin: number;
  /** Set when the target could not be reached: how many were held, and why it stopped. */
  failed?: { reached: number; error: string };
}

/** Why a target failed, in one line. */
function reason(error: unknown): string {
  return error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
}

/**
 * Holds `targets` (ascending, e.g. [1000, 5000]) pending logins with open page sockets,
 * measuring workerd's RSS at each target. Closes everything at the end.
 */
export async function heldLogins(server: FlowServer & { pgid: number }, rp: RpClient, targets: number[]): Promise<HeldResult[]> {
  const before = await groupRssOf(server.pgid, 'workerd');
  const pages: PageSocket[] = [];
  const results: HeldResult[] = [];
  try {
    for (const target of targets) {
      try {
        while (pages.length < target) {
          const batch = Array.from({ length: Math.min(100, target - pages.length) }, (_, i) => i);
          pages.push(
            ...(await inPool(batch, 50, async () => {
              const login = await startLogin(server, rp);
              return openPage(server, login.loginId, login.cookie, 60_000);
            })),
          );
        }
      } catch (error) {
        results.push({ logins: target, before, after: 0, perLogin: Number.NaN, failed: { reached: pages.length, error: reason(error) } });
        break;
      }
      const after = await groupRssOf(server.pgid, 'workerd');
      results.push({ logins: target, before, after, perLogin: (after - before) / target });
    }
  } finally {
    await inPool(pages, 200, (p) => p.close());
  }
  return results;
}

/** The same for `targets` sockets to as many trivial echo objects (bench/echo/). */
export async function heldEchoSockets(echo: { url: string; pgid: number }, targets: number[]): Promise<HeldResult[]> {
  const before = await groupRssOf(echo.pgid, 'workerd');
  const sockets: WebSocket[] = [];
  const results: HeldResult[] = [];
  const base = echo.url.replace(/^http/, 'ws');
  try {
    for (const target of targets) {
      try {
        while (sockets.length < target) {
          const batch = Array.from({ length: Math.min(100, target - sockets.length) }, (_, i) => sockets.length + i);
          sockets.push(...(await inPool(batch, 50, (i) => openSocket(`${base}/ws/held-${i}`, {}, 60_000))));
        }
      } catch (error) {
        results.push({ logins: target, before, after: 0, perLogin: Number.NaN, failed: { reached: sockets.length, error: reason(error) } });
        break;
      }
      const after = await groupRssOf(echo.pgid, 'workerd');
      results.push({ logins: target, before, after, perLogin: (after - before) / target });
    }
  } finally {
    for (const ws of sockets) ws.close();
  }
  return results;
}
