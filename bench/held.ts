/**
 * Figure 3: memory of the user runtime process (one workerd, read from /proc) per pending login
 * whose page WebSocket stays open, after the sockets have been idle long enough to hibernate,
 * against the same number of sockets held by trivial echo objects; and where the ceiling on
 * held objects comes from (open-file limit ÷ descriptors per object).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { inPool, openPage, startLogin, type FlowServer, type PageSocket, type RpClient } from '../test/e2e/flow.ts';
import { openSocket } from './echo.ts';

export interface HeldResult {
  logins: number;
  /** workerd RSS in bytes before the first socket and after `idleMs` idle at this target. */
  before: number;
  after: number;
  perLogin: number;
  /** workerd's open file descriptors before and at this target. */
  fdsBefore: number;
  fdsAfter: number;
  fdsPerObject: number;
  /** Descriptors per object right after opening, before the idle wait (objects still live). */
  fdsLivePerObject: number;
  /** Set when the target could not be reached: how many were held, and why it stopped. */
  failed?: { reached: number; error: string };
}

export interface HeldOptions {
  /** The user runtime's workerd process. */
  pid: number;
  /** Idle time before each measurement, in milliseconds (hibernation needs > 10 s). */
  idleMs: number;
}

/** VmRSS of `pid`, in bytes (0 when gone). */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors of `pid` (0 when gone). */
export function fdsOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The soft and hard "Max open files" of `pid` from /proc/<pid>/limits. */
export function openFileLimit(pid: number): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/).map(Number);
    return { soft: soft!, hard: hard! };
  } catch {
    return undefined;
  }
}

/** Why a target failed, in one line. */
function reason(error: unknown): string {
  return error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
}

/** Opens items up to each target (ascending), measuring after `idleMs` idle at each. */
async function holdUpTo<T>(
  targets: number[],
  options: HeldOptions,
  open: (index: number) => Promise<T>,
  close: (items: T[]) => Promise<void>,
): Promise<HeldResult[]> {
  const before = rssOf(options.pid);
  const fdsBefore = fdsOf(options.pid);
  const items: T[] = [];
  const results: HeldResult[] = [];
  try {
    for (const target of targets) {
      try {
        while (items.length < target) {
          const batch = Array.from({ length: Math.min(100, target - items.length) }, (_, i) => items.length + i);
          items.push(...(await inPool(batch, 50, open)));
        }
      } catch (error) {
        const fdsAfter = fdsOf(options.pid);
        results.push({
          logins: target, before, after: 0, perLogin: Number.NaN, fdsBefore, fdsAfter,
          fdsPerObject: items.length ? (fdsAfter - fdsBefore) / items.length : Number.NaN,
          fdsLivePerObject: items.length ? (fdsAfter - fdsBefore) / items.length : Number.NaN,
          failed: { reached: items.length, error: reason(error) },
        });
        break;
      }
      const fdsLive = fdsOf(options.pid);
      await new Promise((r) => setTimeout(r, options.idleMs));
      const after = rssOf(options.pid);
      const fdsAfter = fdsOf(options.pid);
      results.push({ logins: target, before, after, perLogin: (after - before) / target, fdsBefore, fdsAfter, fdsPerObject: (fdsAfter - fdsBefore) / target, fdsLivePerObject: (fdsLive - fdsBefore) / target });
    }
  } finally {
    await close(items);
  }
  return results;
}

/** Pending logins with open page sockets, one per LoginSession object. */
export function heldLogins(server: FlowServer, rp: RpClient, targets: number[], options: HeldOptions): Promise<HeldResult[]> {
  return holdUpTo<PageSocket>(
    targets,
    options,
    async () => {
      const login = await startLogin(server, rp);
      return openPage(server, login.loginId, login.cookie, 60_000);
    },
    async (pages) => void (await inPool(pages, 200, (p) => p.close())),
  );
}

/** The same for sockets to as many trivial echo objects (bench/echo/). */
export function heldEchoSockets(echo: { url: string }, targets: number[], options: HeldOptions): Promise<HeldResult[]> {
  const base = echo.url.replace(/^http/, 'ws');
  return holdUpTo<WebSocket>(
    targets,
    options,
    (i) => openSocket(`${base}/ws/held-${i}`, {}, 60_000),
    async (sockets) => {
      for (const ws of sockets) ws.close();
    },
  );
}
