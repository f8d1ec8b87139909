/**
 * What a request leaves in the runtime with nothing held (docs/performance.md, "What a held
 * login holds"): the echo Worker's trivial request (`/healthz`, no object, no storage) sent N
 * times, for each N of BENCH_RESIDUE_SIZES (default 2000,10000), on the runtime column (tmpfs);
 * after each size and 5 s idle, the user workerd's RssAnon / RssFile / RssShmem from
 * /proc/<pid>/status, and the KiB per request between the last two sizes. A runtime that gives
 * back what requests leave shows ~0; workerd 1.20261102.1 through Miniflare showed 12–17 KiB.
 * `node bench/residue.ts`; not part of `npm run bench`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { inPool } from '../test/e2e/flow.ts';
import { startRuntime } from './runtime.ts';

const SIZES = (process.env.BENCH_RESIDUE_SIZES ?? '2000,10000').split(',').map(Number);
/** Requests sent per second at most (a pool of 50 in flight). */
const RATE = 400;

/** RssAnon, RssFile and RssShmem of `pid`, in KiB. */
function rss(pid: number): { anon: number; file: number; shmem: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { anon: field('RssAnon'), file: field('RssFile'), shmem: field('RssShmem') };
}

const server = await startRuntime({ secrets: await generateSecrets(), storageRoot: '/dev/shm/mobile-key-bench', configPath: 'bench/echo/wrangler.toml' });
try {
  const pid = server.workerdPid()!;
  console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; before: ${JSON.stringify(rss(pid))} KiB`);
  const readings: { size: number; anon: number }[] = [];
  let sent = 0;
  for (const size of SIZES) {
    while (sent < size) {
      const started = Date.now();
      const batch = Array.from({ length: Math.min(200, size - sent) }, (_, i) => sent + i);
      await inPool(batch, 50, async () => void (await (await fetch(`${server.url}/healthz`)).arrayBuffer()));
      sent += batch.length;
      const due = started + (batch.length / RATE) * 1000;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const m = rss(pid);
    readings.push({ size, anon: m.anon });
    console.log(`${size} requests: ${JSON.stringify(m)} KiB (load ${loadavg()[0]!.toFixed(2)})`);
  }
  const [a, b] = readings.slice(-2);
  if (a && b) console.log(`RssAnon per request from ${a.size} to ${b.size}: ${((b.anon - a.anon) / (b.size - a.size)).toFixed(1)} KiB`);
} finally {
  await server.stop();
  rmSync(server.persistTo, { recursive: true, force: true });
}
