/**
 * Figure 3: held logins. The resident memory of the user runtime process (one workerd, read from
 * /proc) per login whose page WebSocket stays open, after the sockets have been idle long enough
 * for the runtime to hibernate what can hibernate (it evicts an object whose only activity is
 * hibernatable WebSockets after about 10 s idle), in three states:
 *
 * - `rotating`: pending, its page shown — the object's alarm pushes QR frames every 3 s
 *   (src/session/rotation.ts), so it never idles and never hibernates (by design);
 * - `hidden`: pending, its page hidden (`{"type":"hidden"}`): no frames, so it can hibernate;
 * - `scanned`: a key scanned it and the person is deciding on the phone: no frames either.
 *
 * Beside them, the baselines on the same runtime: trivial echo objects each holding one socket
 * (`echo`, the target's), and each holding one socket and one stored key (`echoStored`,
 * bench/echo/held.ts). All are opened at the same pace (at most {@link OPENED_PER_SECOND}). For
 * each, the open file descriptors right after opening and after the idle wait, and how many
 * objects are still in memory (an object in memory has its SQLite file open; a hibernated one
 * does not), which shows whether they really hibernated.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { scanLogin } from '../cli/lib/mobile-client.ts';
import { enrolPhone, inPool, openPage, startLogin, type FlowServer, type PageSocket, type RpClient } from '../test/e2e/flow.ts';
import { openSocket } from './echo.ts';

/**
 * What is held, one object each. `scannedDropped` and `echoDropped` hold nothing: the same flow
 * as `scanned` / `echo`, its socket closed as soon as it is in that state — what the flow leaves in
 * the process without holding anything (the runtime's per-request residue: {@link heldCost}).
 */
export type HeldKind = 'rotating' | 'hidden' | 'scanned' | 'echo' | 'echoStored' | 'scannedDropped' | 'echoDropped';

export interface HeldResult {
  kind: HeldKind;
  /** How many are held at this measurement. */
  held: number;
  /** workerd RSS in bytes before the first socket, and after the idle wait at this size. */
  before: number;
  after: number;
  /** (after − before) ÷ held, in bytes. */
  perObject: number;
  /** workerd's open file descriptors before the first socket and after the idle wait. */
  fdsBefore: number;
  fdsAfter: number;
  /** Descriptors per object after the idle wait, and right after opening (before it). */
  fdsPerObject: number;
  fdsLivePerObject: number;
  /** Durable Object SQLite files open after the idle wait, less those open before: objects still in memory (not hibernated). */
  awake: number;
  /** How fast this size's new objects were opened (objects per second, before the idle wait). */
  openedPerSecond: number;
  /** Set when the size could not be reached: how many were held, and why it stopped. */
  failed?: { reached: number; error: string };
}

/**
 * Most objects opened per second, for every kind alike. Until they hibernate (about 10 s after
 * their last activity) the objects opened in the last seconds are all live at once, and the
 * memory a live object took is not all returned when it hibernates; so the process's high-water
 * mark, and what is left after the idle wait, depends on how fast they were opened. Logins open
 * at about 40 a second here (each is an authorization request, the page, its state and socket);
 * echo sockets would open several times faster and leave more behind, unpaced.
 */
export const OPENED_PER_SECOND = 40;

export interface HeldOptions {
  /** The user runtime's workerd process. */
  pid: number;
  /** Its persistence folder (Durable Object SQLite files are under it). */
  persistTo: string;
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

/**
 * Durable Object SQLite databases `pid` has open under `persistTo` (`<persistTo>/v3/do/…/*.sqlite`;
 * D1's are elsewhere): the objects in memory. A hibernated or evicted object has closed its file.
 */
export function awakeObjects(pid: number, persistTo: string): number {
  const prefix = `${persistTo.replace(/\/$/, '')}/v3/do/`;
  let count = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(prefix) && target.endsWith('.sqlite')) count++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0;
  }
  return count;
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

/** Why a size failed, in one line. */
function reason(error: unknown): string {
  return error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
}

/** Opens items up to each size (ascending), measuring after `idleMs` idle at each. */
async function holdUpTo<T>(
  kind: HeldKind,
  sizes: number[],
  options: HeldOptions,
  open: (index: number) => Promise<T>,
  close: (items: T[]) => Promise<void>,
): Promise<HeldResult[]> {
  const { pid, persistTo } = options;
  const before = rssOf(pid);
  const fdsBefore = fdsOf(pid);
  const awakeBefore = awakeObjects(pid, persistTo);
  const items: T[] = [];
  const results: HeldResult[] = [];
  try {
    for (const size of sizes) {
      const [from, openStart] = [items.length, Date.now()];
      const rate = () => ((items.length - from) / Math.max(1, Date.now() - openStart)) * 1000;
      try {
        while (items.length < size) {
          const started = Date.now();
          const batch = Array.from({ length: Math.min(100, size - items.length) }, (_, i) => items.length + i);
          items.push(...(await inPool(batch, 50, open)));
          const due = started + (batch.length / OPENED_PER_SECOND) * 1000;
          if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
      } catch (error) {
        const fds = fdsOf(pid);
        const perObject = items.length ? (fds - fdsBefore) / items.length : Number.NaN;
        results.push({
          kind, held: items.length, before, after: rssOf(pid), perObject: Number.NaN, fdsBefore, fdsAfter: fds,
          fdsPerObject: perObject, fdsLivePerObject: perObject, awake: awakeObjects(pid, persistTo) - awakeBefore, openedPerSecond: rate(),
          failed: { reached: items.length, error: reason(error) },
        });
        break;
      }
      const fdsLive = fdsOf(pid);
      const openedPerSecond = rate();
      await new Promise((r) => setTimeout(r, options.idleMs));
      const after = rssOf(pid);
      const fdsAfter = fdsOf(pid);
      results.push({
        kind, held: size, before, after, perObject: (after - before) / size, fdsBefore, fdsAfter,
        fdsPerObject: (fdsAfter - fdsBefore) / size, fdsLivePerObject: (fdsLive - fdsBefore) / size,
        awake: awakeObjects(pid, persistTo) - awakeBefore, openedPerSecond,
      });
    }
  } finally {
    await close(items);
  }
  return results;
}

/**
 * Logins held in `kind` (`rotating`, `hidden` or `scanned`), one LoginSession object each, with
 * their page sockets open as the hosted page keeps them.
 */
export async function heldLogins(
  server: FlowServer,
  rp: RpClient,
  kind: 'rotating' | 'hidden' | 'scanned' | 'scannedDropped',
  sizes: number[],
  options: HeldOptions,
): Promise<HeldResult[]> {
  const key = kind === 'scanned' || kind === 'scannedDropped' ? await enrolPhone(server, { deviceName: 'Bench phone' }) : undefined;
  return holdUpTo<PageSocket>(
    kind,
    sizes,
    options,
    async () => {
      const login = await startLogin(server, rp);
      const page = await openPage(server, login.loginId, login.cookie, 60_000);
      if (kind === 'hidden') {
        // What the page sends when its tab is hidden; the 400 to an unknown message (sent after
        // it, answered in order) shows the object has taken it.
        const from = page.messages.length;
        page.send('{"type":"hidden"}');
        page.send('{"type":"bench-barrier"}');
        await page.waitFor((m) => (m as { status?: unknown }).status === 400, { from, timeoutMs: 60_000 });
      }
      // The launch link (single use, valid while pending), as a phone on the same device sends it.
      if (key) await scanLogin({ loginUrl: login.loginUrl, store: key });
      if (key) await page.waitForState('scanned', 60_000);
      if (kind === 'scannedDropped') await page.close(); // the page goes away: nothing held
      return page;
    },
    async (pages) => void (await inPool(pages, 200, (p) => p.close())),
  );
}

/** Sockets to as many trivial echo objects (bench/echo/): `echo` holds one socket, `echoStored` also one stored key. */
export function heldEchoSockets(echo: { url: string }, kind: 'echo' | 'echoStored' | 'echoDropped', sizes: number[], options: HeldOptions): Promise<HeldResult[]> {
  const base = echo.url.replace(/^http/, 'ws');
  const path = kind === 'echoStored' ? 'stored' : 'ws';
  return holdUpTo<WebSocket>(
    kind,
    sizes,
    options,
    async (i) => {
      const ws = await openSocket(`${base}/${path}/held-${i}`, {}, 60_000);
      if (kind === 'echoDropped') ws.close(); // nothing held
      return ws;
    },
    async (sockets) => {
      for (const ws of sockets) ws.close();
    },
  );
}

/**
 * Bytes per object between the two largest sizes held (the cost of holding more, without what the
 * first ones cost to warm the process up), else per object at the only size; NaN when none held.
 */
export function marginalBytes(results: HeldResult[]): number {
  const ok = results.filter((r) => !r.failed);
  const [a, b] = ok.slice(-2);
  if (a && b) return (b.after - a.after) / (b.held - a.held);
  return a ? a.perObject : Number.NaN;
}

/**
 * What holding costs, like for like: the marginal bytes per object of a held kind less those of
 * the same flow with nothing held (its `…Dropped` kind, on its own fresh process, same sizes and
 * pace). This local runtime never gives back what a request leaves (workerd through Miniflare:
 * ~13 KiB per trivial request, more per Durable Object, D1 and rate-limit call, growing linearly
 * to 20,000 requests; docs/performance.md, "What a held login holds"), so the marginal bytes of a
 * held kind count every request its flow made, held or not.
 * @param held {@link marginalBytes} of the held kind; @param dropped of its `…Dropped` kind (bytes).
 * @returns bytes per object; NaN when either is missing.
 */
export function heldCost(held: number | undefined, dropped: number | undefined): number {
  return held === undefined || dropped === undefined ? Number.NaN : held - dropped;
}

/**
 * How many objects of this kind the process can hold: the descriptors left under the soft
 * open-file limit ÷ descriptors per object (once idle: hibernated objects have closed their
 * SQLite files), and how much memory that many would take at {@link marginalBytes} each.
 */
export function ceilingOf(results: HeldResult[], limit: { soft: number } | undefined): { objects: number; bytes: number } | undefined {
  const last = results.filter((r) => !r.failed).at(-1);
  if (!limit || !last || !(last.fdsPerObject > 0)) return undefined;
  const objects = Math.floor((limit.soft - last.fdsBefore) / last.fdsPerObject);
  return { objects, bytes: Math.round(objects * marginalBytes(results)) };
}
