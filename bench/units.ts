/**
 * The runtime's unit costs: the CPU workerd spends on the smallest things a login does many
 * times — a request, a Durable Object call (bare, with one storage write, with one read), a D1
 * query by primary key and a D1 write — on the bench's runtime column (bench/runtime.ts, storage
 * on tmpfs), measured as bench/profile.ts measures a login: workerd's utime+stime
 * (`/proc/<pid>/stat`) over `ROUNDS` rounds of `N` sequential requests, the median round ÷ N.
 * Each operation's own cost is its request's CPU minus the trivial request's.
 *
 * With the counts of one complete login from `bench/results/profile.json` (written by
 * bench/profile.ts) it prints the **shape floor**: what a login of our shape — that many
 * requests, Durable Object calls and D1 queries — costs this runtime before any of our code
 * runs. Writes bench/results/units.json. Run: `node bench/units.ts` (about 1 minute); `npm run bench` measures the same per column
 * ({@link unitCosts}).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { median, round, cpuMs } from './lib/stats.ts';
import { startRuntime } from './runtime.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 100 : 400;
const ROUNDS = QUICK ? 1 : 5;


const OPERATIONS = {
  request: '/healthz',
  'do call': '/do/one',
  'do call + storage put': '/do-put/one',
  'do call + storage get': '/do-get/one',
  'new object + storage put': '/do-new',
  'new object + put + alarm': '/do-new-alarm',
  'd1 select by key': '/d1',
  'd1 update by key': '/d1-write',
} as const;
type Operation = keyof typeof OPERATIONS;

/** workerd CPU per request of each operation, and each operation's own cost (ms). */
export interface UnitCosts {
  n: number;
  rounds: number;
  perRequest: Record<Operation, { cpuMs: number; rounds: number[]; wallMs: number }>;
  /** Each operation's CPU minus the trivial request's (the request itself: its whole CPU), ms. */
  units: { request: number; doCall: number; doCallPut: number; doCallGet: number; newObject: number; newObjectAlarm: number; d1Select: number; d1Update: number };
}

/**
 * Measures the unit costs on a fresh runtime (bench/units/) with storage under `storageRoot`
 * (tmpfs or disk, as the bench's columns). Starts and stops its own server.
 * @throws {Error} when a request fails or workerd cannot be found.
 */
export async function unitCosts(storageRoot: string): Promise<UnitCosts> {
  const server = await startRuntime({ secrets: await generateSecrets(), storageRoot, configPath: 'bench/units/wrangler.toml' });
  try {
    const pid = server.workerdPid();
    if (!pid) throw new Error('no workerd process');
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`);
      const text = await response.text();
      if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    };
    await get('/setup');
    const perRequest = {} as UnitCosts['perRequest'];
    for (const [name, path] of Object.entries(OPERATIONS) as [Operation, string][]) {
      for (let i = 0; i < 50; i++) await get(path);
      const rounds: number[] = [];
      const walls: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const before = cpuMs(pid);
        for (let i = 0; i < N; i++) {
          const t0 = performance.now();
          await get(path);
          walls.push(performance.now() - t0);
        }
        rounds.push((cpuMs(pid) - before) / N);
      }
      perRequest[name] = { cpuMs: round(median(rounds), 3), rounds: rounds.map((x) => round(x, 3)), wallMs: round(median(walls), 3) };
    }
    const trivial = perRequest.request.cpuMs;
    const own = (name: Operation) => round(perRequest[name].cpuMs - trivial, 3);
    return {
      n: N,
      rounds: ROUNDS,
      perRequest,
      units: {
        request: trivial,
        doCall: own('do call'),
        doCallPut: own('do call + storage put'),
        doCallGet: own('do call + storage get'),
        newObject: own('new object + storage put'),
        newObjectAlarm: own('new object + put + alarm'),
        d1Select: own('d1 select by key'),
        d1Update: own('d1 update by key'),
      },
    };
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { perRequest, units } = await unitCosts('/dev/shm/mobile-key-bench-units');
    let shape: Record<string, unknown> | undefined;
    const profilePath = new URL('results/profile.json', import.meta.url).pathname;
    if (existsSync(profilePath)) {
      const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as {
        steps: { calls: string[] }[];
        totals: { requests: number; doCalls: number; d1Queries: number; cpuMsPerLogin: number; peerCpuMsPerLogin: number };
      };
      const { totals } = profile;
      // The calls that create an object with an alarm: LoginSession `start`, BrowserSession `create`.
      const created = profile.steps.flatMap((s) => s.calls).filter((c) => c === 'do:start' || c === 'do:create').length;
      const calls = totals.doCalls - created;
      const low = totals.requests * units.request + calls * units.doCall + created * units.newObjectAlarm + totals.d1Queries * units.d1Select;
      const high = totals.requests * units.request + calls * units.doCallPut + created * units.newObjectAlarm + totals.d1Queries * units.d1Update;
      shape = {
        counts: { requests: totals.requests, doCalls: totals.doCalls, objectsCreated: created, d1Queries: totals.d1Queries },
        floorLowMs: round(low, 2),
        floorHighMs: round(high, 2),
        loginCpuMs: totals.cpuMsPerLogin,
        peerCpuMs: totals.peerCpuMsPerLogin,
      };
    }
    const result = { date: new Date().toISOString(), n: N, rounds: ROUNDS, loadAverage: loadavg().map((l) => round(l, 2)), perRequest, units, shape };
    const dir = new URL('results/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}units.json`, `${JSON.stringify(result, null, 2)}\n`);
    console.log('| operation | workerd CPU per request (ms) | its own cost (ms) | wall median (ms) |');
    console.log('| --- | --: | --: | --: |');
    for (const [name, value] of Object.entries(perRequest)) {
      console.log(`| ${name} | ${value.cpuMs} | ${name === 'request' ? '—' : round(value.cpuMs - units.request, 3)} | ${value.wallMs} |`);
    }
    if (shape) {
      const c = shape.counts as { requests: number; doCalls: number; objectsCreated: number; d1Queries: number };
      console.log(`\nshape floor of one login (${c.requests} requests, ${c.doCalls} DO calls of which ${c.objectsCreated} create an object with an alarm, ${c.d1Queries} D1 queries): ${shape.floorLowMs}–${shape.floorHighMs} ms CPU; the login itself ${shape.loginCpuMs} ms; the peer ${shape.peerCpuMs} ms (bench/results/profile.json)`);
    }
    console.log(`\nload average ${result.loadAverage.join(' ')}; bench/results/units.json`);
}
