/**
 * `npm run bench`: measures the product on this machine in three columns — through
 * `wrangler dev` (where developers live), and on the runtime alone (the deploy build on workerd
 * through Miniflare's API, bench/runtime.ts) with storage on tmpfs and on disk — each figure
 * beside its floor and the peer measured in the same run. Prints a table and the targets of
 * issue 13, and writes everything as JSON under bench/results/. Everything runs on loopback;
 * every loop is bounded in count and time; every server is started and stopped here.
 * See docs/performance.md for the method.
 *
 * BENCH_QUICK=1 runs small sizes (a smoke test of the bench itself).
 * BENCH_ONLY=held,page runs only those phases; BENCH_COLUMNS=runtime-tmpfs only those columns
 * (both write bench/results/partial.json); BENCH_HELD_SIZES=300,1000 and BENCH_HELD_KINDS=scanned,echo
 * narrow the held phase (also partial.json).
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import * as oidc from 'openid-client';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { freePort, startServer, type RunningServer } from '../scripts/lib/server.ts';
import { launchBrowser } from '../test/e2e/browser.ts';
import { enrolPhone, inPool, registerRp, runLogin, type FlowServer, type RpClient } from '../test/e2e/flow.ts';
import { echoRoundTrips, startEcho, trivialRequest, writeThenSend } from './echo.ts';
import { ceilingOf, heldCost, heldEchoSockets, heldLogins, marginalBytes, openFileLimit, type HeldKind, type HeldResult } from './held.ts';
import { decisionToPage } from './latency.ts';
import { pageCosts, type PageCost } from './page.ts';
import { peerLogin, spawnPeer, startPeer, type Peer } from './peer.ts';
import { processesOf, startRuntime } from './runtime.ts';
import { unitCosts } from './units.ts';
import { percentile, round, table } from './lib/stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY?.split(',').map((p) => p.trim());
const COLUMNS = ['dev', 'runtime-tmpfs', 'runtime-disk'] as const;
type Column = (typeof COLUMNS)[number];
const ONLY_COLUMNS = process.env.BENCH_COLUMNS?.split(',').map((p) => p.trim()) as Column[] | undefined;
const HEADERS: Record<Column, string> = { dev: 'wrangler dev', 'runtime-tmpfs': 'runtime, tmpfs', 'runtime-disk': 'runtime, disk' };
/** Where the runtime columns keep D1 and Durable Object SQLite files. */
const STORAGE: Record<Exclude<Column, 'dev'>, string> = { 'runtime-tmpfs': '/dev/shm/mobile-key-bench', 'runtime-disk': `${tmpdir()}/mobile-key-bench` };
/** The column the targets are computed on (the product's users get the runtime, not the proxy). */
const TARGET_COLUMN: Column = 'runtime-tmpfs';

const SIZES = {
  latency: QUICK ? [1, 20] : [1, 100],
  /** Rounds per concurrency level, so each level has enough samples. */
  rounds: (c: number) => (c === 1 ? (QUICK ? 10 : 100) : 3),
  throughput: QUICK ? [{ c: 8, n: 16 }, { c: 32, n: 32 }] : [{ c: 8, n: 200 }, { c: 32, n: 256 }],
  /**
   * Objects held per kind, measured at each size (BENCH_HELD_SIZES=300,900 overrides). 3,000
   * stays under this sandbox's 20,000 descriptors at 5 per live object (docs: "Held logins").
   */
  held: process.env.BENCH_HELD_SIZES ? process.env.BENCH_HELD_SIZES.split(',').map(Number) : QUICK ? [100, 200] : [1000, 3000],
  /** Idle time before a held measurement: hibernation needs more than 10 s (quick: a smoke run). */
  heldIdleMs: QUICK ? 2_000 : 12_000,
  /** Loads of each login page, ours and the peer's in turn. */
  pageRuns: QUICK ? 2 : 21,
};

/** The whole run must finish in this time, in milliseconds; each phase checks it. */
const DEADLINE = Date.now() + 50 * 60_000;
function checkDeadline(phase: string): void {
  if (Date.now() > DEADLINE) throw new Error(`bench exceeded its time bound before ${phase}`);
}

type Figures = Record<string, unknown>;
const figures: Record<Column | 'peer', Figures> = { dev: {}, 'runtime-tmpfs': {}, 'runtime-disk': {}, peer: {} };
const errors: Record<string, string> = {};
const ms = (v: number) => round(v, 2);

/** Runs one phase; a failure is recorded instead of ending the run, so the other figures are still written. */
async function phase(name: string, column: string, run: () => Promise<void>): Promise<void> {
  if (ONLY && !ONLY.includes(name)) return;
  checkDeadline(`${name} (${column})`);
  console.error(`${column}: ${name}…`);
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
    console.error(`${name} (${column}) failed: ${message.slice(0, 2000)}`);
    errors[`${column}.${name}`] = message.slice(0, 2000);
  }
}

interface Started extends RunningServer {
  /** The workerd that runs the user Worker (the runtime columns have exactly one). */
  workerdPid(): number | undefined;
}

/** Starts the product (or the echo worker) for a column. */
async function start(column: Column, options: { echo?: boolean; maxOpenFiles?: number; readiness?: 'log' } = {}): Promise<Started> {
  if (column === 'dev') {
    const server = options.echo
      ? await startEcho({ maxOpenFiles: options.maxOpenFiles })
      : await startServer({ secrets: await generateSecrets(), maxOpenFiles: options.maxOpenFiles, readiness: options.readiness });
    // wrangler dev runs two workerd processes (proxy and user); the user one is started last.
    return { ...server, workerdPid: () => processesOf(server.pgid, 'workerd').sort((a, b) => a - b).at(-1) };
  }
  return startRuntime({
    secrets: await generateSecrets(),
    storageRoot: STORAGE[column],
    configPath: options.echo ? 'bench/echo/wrangler.toml' : undefined,
    maxOpenFiles: options.maxOpenFiles,
    readiness: options.readiness,
  });
}

/** First-request TTFB, a second request, and the warm median of 50 GETs of `url`, in milliseconds. */
async function requestTimes(url: string): Promise<{ first: number; second: number; warm: number }> {
  const timed = async () => {
    const t0 = performance.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    const ttfb = performance.now() - t0;
    await res.arrayBuffer();
    return ttfb;
  };
  const first = await timed();
  const second = await timed();
  const samples: number[] = [];
  for (let i = 0; i < 50; i++) samples.push(await timed());
  return { first, second, warm: percentile(samples, 50) };
}

function authorizationUrl(config: oidc.Configuration, redirectUri: string): string {
  return oidc
    .buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state: randomBytes(12).toString('base64url'),
      nonce: randomBytes(12).toString('base64url'),
      code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
      code_challenge_method: 'S256',
    })
    .toString();
}

const summary = (samples: number[]) => ({
  samples: samples.length,
  p50: ms(percentile(samples, 50)),
  p95: ms(percentile(samples, 95)),
  p99: ms(percentile(samples, 99)),
});

/** Cold path and per-request floor: a fresh product's first request, then warm discovery. */
async function cold(column: Column): Promise<void> {
  const server = await start(column, { readiness: 'log' });
  try {
    const t = await requestTimes(`${server.url}/.well-known/openid-configuration`);
    figures[column].coldPath = { firstRequestMs: ms(t.first), secondRequestMs: ms(t.second), warmDiscoveryMedianMs: ms(t.warm) };
  } finally {
    await server.stop();
  }
}

/** The floors on the same runtime: trivial request, echo and write-then-send at each concurrency. */
async function floors(column: Column): Promise<void> {
  const echo = await start(column, { echo: true });
  try {
    const trivial = await trivialRequest(`${echo.url}/healthz`);
    const levels = [];
    for (const c of SIZES.latency) {
      checkDeadline(`floors ${c}`);
      const rounds = SIZES.rounds(c);
      levels.push({ concurrency: c, echo: summary(await echoRoundTrips(echo, c, rounds)), writeThenSend: summary(await writeThenSend(echo, c, rounds)) });
    }
    figures[column].floors = { trivialRequestMedianMs: ms(trivial), levels };
  } finally {
    await echo.stop();
  }
}

/** Decision-to-page, complete logins per second and (where asked) page cost on one product server. */
async function product(column: Column, withPage: boolean): Promise<void> {
  const server = await start(column);
  try {
    const flow: FlowServer = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    const rp = await registerRp(flow);
    const key = await enrolPhone(flow, { deviceName: 'Bench phone' });
    await phase('latency', column, async () => {
      const levels = [];
      for (const c of SIZES.latency) {
        checkDeadline(`latency ${c}`);
        const samples: number[] = [];
        for (let r = 0; r < SIZES.rounds(c); r++) samples.push(...(await decisionToPage(flow, rp, key, c)));
        levels.push({ concurrency: c, ...summary(samples) });
      }
      figures[column].decisionToPage = levels;
    });
    await phase('logins', column, async () => {
      const runs = [];
      for (const { c, n } of SIZES.throughput) {
        checkDeadline(`logins ${c}`);
        const t0 = performance.now();
        await inPool(Array.from({ length: n }, (_, i) => i), c, () => runLogin(flow, rp, key, { timeoutMs: 60_000 }));
        runs.push({ concurrency: c, logins: n, perSecond: round(n / ((performance.now() - t0) / 1000), 1) });
      }
      figures[column].completeLogins = runs;
    });
    if (withPage) await phase('page', column, () => pages(column, rp));
  } finally {
    await server.stop();
  }
}

/**
 * Our login page and the peer's, loaded in turn in one browser (bench/page.ts pageCosts): the
 * peer runs beside the product for this phase only, so both pages meet the same machine.
 */
async function pages(column: Column, rp: RpClient): Promise<void> {
  const p = await startPeer(await freePort());
  const browser = await launchBrowser();
  try {
    figures.peer.chromium = browser.version();
    const [ours, peer] = await pageCosts(
      browser,
      [
        { url: async () => authorizationUrl(rp.config, rp.redirectUri), waitFor: 'svg[data-qr]' },
        { url: async () => authorizationUrl(p.config, 'http://localhost/bench/callback'), waitFor: 'input[name=login]' },
      ],
      SIZES.pageRuns,
    );
    figures[column].pageCost = ours;
    figures[column].peerPageCost = peer;
    if (column === TARGET_COLUMN || !figures.peer.pageCost) figures.peer.pageCost = peer;
  } finally {
    await browser.close();
    await p.stop();
  }
}

/** What bench/held.ts holds, in this order; each kind on a fresh process (none inherits another's memory). */
const HELD_KINDS = (['rotating', 'hidden', 'scanned', 'scannedDropped', 'echo', 'echoDropped', 'echoStored'] as HeldKind[]).filter(
  (k) => !process.env.BENCH_HELD_KINDS || process.env.BENCH_HELD_KINDS.split(',').includes(k), // e.g. BENCH_HELD_KINDS=scanned,echo
);

/**
 * Held logins in each state and the echo baselines, the user workerd alone, after the idle wait;
 * its open-file limit and the ceiling it sets (bench/held.ts).
 */
async function held(column: Column): Promise<void> {
  const describe = (results: HeldResult[]) =>
    results.map((r) => ({
      held: r.held,
      ...(r.failed ? { failed: r.failed } : { rssBeforeBytes: r.before, rssAfterBytes: r.after, bytesPerObject: Math.round(r.perObject) }),
      fdsBefore: r.fdsBefore,
      fdsAfter: r.fdsAfter,
      fdsPerObject: round(r.fdsPerObject, 2),
      fdsLivePerObject: round(r.fdsLivePerObject, 2),
      awakeAfterIdle: r.awake,
      openedPerSecond: round(r.openedPerSecond, 1),
    }));
  let limit: { soft: number; hard: number } | undefined;
  const kinds: Record<string, unknown> = {};
  // On disk only the target's two kinds (scanned, the echo object): the tmpfs column has them all.
  const heldKinds = column === 'runtime-disk' ? HELD_KINDS.filter((k) => k === 'scanned' || k === 'echo') : HELD_KINDS;
  for (const kind of heldKinds) {
    checkDeadline(`held ${kind}`);
    const echo = kind === 'echo' || kind === 'echoStored' || kind === 'echoDropped';
    try {
      const server = await start(column, { echo, maxOpenFiles: 100_000 });
      let results: HeldResult[];
      try {
        const options = { pid: server.workerdPid()!, persistTo: server.persistTo, idleMs: SIZES.heldIdleMs };
        limit ??= openFileLimit(options.pid);
        if (echo) results = await heldEchoSockets(server, kind, SIZES.held, options);
        else {
          const flow: FlowServer = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
          results = await heldLogins(flow, await registerRp(flow), kind, SIZES.held, options);
        }
      } finally {
        await server.stop();
        // Thousands of objects' SQLite files, on tmpfs: not kept (the figures are in the JSON).
        rmSync(server.persistTo, { recursive: true, force: true });
      }
      kinds[kind] = { sizes: describe(results), marginalBytesPerObject: Math.round(marginalBytes(results)), ceiling: ceilingOf(results, limit) };
    } catch (error) {
      errors[`${column}.held.${kind}`] = String(error).slice(0, 2000);
      console.error(`held ${kind} (${column}) failed: ${String(error).slice(0, 2000)}`);
    }
  }
  figures[column].heldLogins = { idleMs: SIZES.heldIdleMs, openFileLimit: limit, kinds };
}

/** The peer's complete logins per second at each concurrency of {@link SIZES}, after one warm-up login. */
async function peerThroughput(p: Peer): Promise<{ concurrency: number; logins: number; perSecond: number }[]> {
  await peerLogin(p, 'warm-up');
  const runs = [];
  for (const { c, n } of SIZES.throughput) {
    const t0 = performance.now();
    await inPool(Array.from({ length: n }, (_, i) => i), c, (i) => peerLogin(p, `user-${i}`));
    runs.push({ concurrency: c, logins: n, perSecond: round(n / ((performance.now() - t0) / 1000), 1) });
  }
  return runs;
}

/** The peer: cold path and warm discovery, complete logins at each concurrency (its login page: {@link pages}). */
async function peer(): Promise<void> {
  await phase('cold', 'peer', async () => {
    const p = await spawnPeer(await freePort());
    try {
      const t = await requestTimes(`${p.url}/.well-known/openid-configuration`);
      figures.peer.coldPath = { firstRequestMs: ms(t.first), secondRequestMs: ms(t.second), warmDiscoveryMedianMs: ms(t.warm) };
    } finally {
      await p.stop();
    }
  });
  const p = await startPeer(await freePort());
  try {
    await phase('logins', 'peer', async () => void (figures.peer.completeLogins = await peerThroughput(p)));
    // Context, not a target: the peer as it is deployed, with a durable store (bench/peer-store.ts).
    await phase('logins', 'peer', async () => {
      const store = `${STORAGE['runtime-tmpfs']}/peer-${process.pid}.sqlite`;
      mkdirSync(STORAGE['runtime-tmpfs'], { recursive: true });
      const durable = await startPeer(await freePort(), { store });
      try {
        figures.peer.completeLoginsDurableStore = await peerThroughput(durable);
      } finally {
        await durable.stop();
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
      }
    });
  } finally {
    await p.stop();
  }
}

function versions() {
  const pkg = (name: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  let workerdBinary = '';
  try {
    workerdBinary = execFileSync(new URL('../node_modules/.bin/workerd', import.meta.url).pathname, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // not runnable
  }
  return { node: process.version, wrangler: pkg('wrangler'), miniflare: pkg('miniflare'), workerd: pkg('workerd'), workerdBinary, oidcProvider: pkg('oidc-provider'), openidClient: pkg('openid-client'), playwrightCore: pkg('playwright-core') };
}

type Target = { name: string; column: Column; ours: number; baseline: number; ratio: number; goal: string; met: boolean };

/** The targets of issue 13, computed from one column's figures and the peer's. */
function targets(column: Column): Target[] {
  const f = figures[column] as Record<string, any>;
  const p = figures.peer as Record<string, any>;
  const out: Target[] = [];
  const add = (name: string, ours: number | undefined, baseline: number | undefined, goal: string, met: (ratio: number) => boolean) => {
    const ratio = ours !== undefined && baseline !== undefined ? round(ours / baseline, 3) : Number.NaN;
    out.push({ name, column, ours: ours ?? Number.NaN, baseline: baseline ?? Number.NaN, ratio, goal, met: Number.isFinite(ratio) && met(ratio) });
  };
  for (const c of [8, 32]) {
    add(`complete logins/s at concurrency ${c} vs node-oidc-provider`, f.completeLogins?.find((r: any) => r.concurrency === c)?.perSecond, p.completeLogins?.find((r: any) => r.concurrency === c)?.perSecond, '≥ 1.0×', (r) => r >= 1);
  }
  const high = SIZES.latency.at(-1)!;
  add('decision-to-page p50 at 1 concurrent vs write-then-send floor p50 (ms)', f.decisionToPage?.[0]?.p50, f.floors?.levels?.[0]?.writeThenSend.p50, '≤ 1.5×', (r) => r <= 1.5);
  add(`decision-to-page p99 at ${high} concurrent vs write-then-send floor p99 (ms)`, f.decisionToPage?.at(-1)?.p99, f.floors?.levels?.at(-1)?.writeThenSend.p99, '≤ 2×', (r) => r <= 2);
  // Held: the state a login is held in for long and that can hibernate — scanned, the person
  // deciding on the phone — at the marginal bytes per object (bench/held.ts marginalBytes) against
  // the target's echo object holding one socket; then against one that also stores a key.
  // Like for like (bench/held.ts heldCost): each kind's marginal bytes less those of the same
  // flow with nothing held, for ours and the echo alike — this runtime keeps what every request
  // leaves, held or not. The raw marginal bytes stay the target (the issue's reading); the like
  // for like figure is beside it, to say how much of the gap is the runtime's residue.
  const heldKind = (k: HeldKind) => f.heldLogins?.kinds?.[k]?.marginalBytesPerObject as number | undefined;
  const cost = (k: HeldKind, dropped: HeldKind) => {
    const v = heldCost(heldKind(k), heldKind(dropped));
    return Number.isFinite(v) ? v : undefined;
  };
  add('held login memory after hibernation (scanned, bytes per object held) vs echo object holding one socket', heldKind('scanned'), heldKind('echo'), '≤ 1.2×', (r) => r <= 1.2);
  add('  like for like: what holding costs (scanned less scannedDropped) vs the echo\'s (echo less echoDropped)', cost('scanned', 'scannedDropped'), cost('echo', 'echoDropped'), '≤ 1.2×', (r) => r <= 1.2);
  add('  the same vs echo object holding one socket and one stored key', heldKind('scanned'), heldKind('echoStored'), '≤ 1.2×', (r) => r <= 1.2);
  // The page is measured where there is a page phase (not on disk): this column's, else the
  // target column's, else wrangler dev's; the peer's page was loaded in turn with ours there.
  const measured = [f, figures['runtime-tmpfs'], figures.dev].find((c) => c.pageCost) as Record<string, any> | undefined;
  const page = measured?.pageCost as PageCost | undefined;
  const peerPage = measured?.peerPageCost as PageCost | undefined;
  add('login page: gzip bytes of everything it loads vs 10 KB', page?.gzipBytes, 10 * 1024, '≤ 1.0×', (r) => r <= 1);
  add('login page: requests before first paint vs one', page?.requestsForFirstPaint, 1, '= 1', (r) => r === 1);
  add('login page: QR painted (ms) vs node-oidc-provider login page', page?.paintMs, peerPage?.paintMs, '≤ 1.2×', (r) => r <= 1.2);
  add('login page: static files with hashed names served immutable, of all it loads', page?.staticFiles.hashedImmutable, page?.staticFiles.total, '= 1.0×', (r) => r === 1);
  add('cold first request (ms) vs node-oidc-provider', f.coldPath?.firstRequestMs, p.coldPath?.firstRequestMs, '≤ 2×', (r) => r <= 2);
  return out;
}

/** One row per figure, one cell per column. */
function rows(columns: Column[]): string[][] {
  const out: string[][] = [];
  const get = (c: Column | 'peer') => figures[c] as Record<string, any>;
  const row = (name: string, cell: (f: Record<string, any>) => string | undefined, peerCell?: string) =>
    out.push([name, ...columns.map((c) => cell(get(c)) ?? '—'), peerCell ?? '']);
  const p = get('peer');
  row('cold: first request (ms)', (f) => f.coldPath && `${f.coldPath.firstRequestMs}`, p.coldPath && `${p.coldPath.firstRequestMs}`);
  row('floor: warm discovery, median of 50 (ms)', (f) => f.coldPath && `${f.coldPath.warmDiscoveryMedianMs}`, p.coldPath && `${p.coldPath.warmDiscoveryMedianMs}`);
  row('floor: trivial request (echo /healthz), median (ms)', (f) => f.floors && `${f.floors.trivialRequestMedianMs}`);
  for (const [i, c] of SIZES.latency.entries()) {
    row(`decision→page, ${c} concurrent p50/p99 (ms)`, (f) => f.decisionToPage?.[i] && `${f.decisionToPage[i].p50} / ${f.decisionToPage[i].p99}`);
    row(`  floor write-then-send, ${c} p50/p99 (ms)`, (f) => f.floors?.levels?.[i] && `${f.floors.levels[i].writeThenSend.p50} / ${f.floors.levels[i].writeThenSend.p99}`);
    row(`  floor echo, ${c} p50/p99 (ms)`, (f) => f.floors?.levels?.[i] && `${f.floors.levels[i].echo.p50} / ${f.floors.levels[i].echo.p99}`);
  }
  for (const [i, { c, n }] of SIZES.throughput.entries()) {
    row(`complete logins/s, concurrency ${c} (n=${n})`, (f) => f.completeLogins?.[i] && `${f.completeLogins[i].perSecond}`, p.completeLogins?.[i] && `${p.completeLogins[i].perSecond}`);
    row(`  peer with a SQLite store, concurrency ${c}`, () => undefined, p.completeLoginsDurableStore?.[i] && `${p.completeLoginsDurableStore[i].perSecond}`);
  }
  const unit = (f: Record<string, any>, key: string) => f.unitCosts && `${f.unitCosts.units[key]}`;
  row('unit CPU (ms): request', (f) => unit(f, 'request'));
  row('  + Durable Object call / with a put', (f) => f.unitCosts && `${f.unitCosts.units.doCall} / ${f.unitCosts.units.doCallPut}`);
  row('  + new object with a put and an alarm', (f) => unit(f, 'newObjectAlarm'));
  row('  + D1 select / update by key', (f) => f.unitCosts && `${f.unitCosts.units.d1Select} / ${f.unitCosts.units.d1Update}`);
  const heldCell = (k: any) =>
    k &&
    `${k.sizes.map((e: any) => (e.failed ? `failed at ${e.failed.reached}` : `${round(e.bytesPerObject / 1024, 0)}`)).join(' / ')} KiB; +${round(k.marginalBytesPerObject / 1024, 0)} KiB each; ` +
      `fds ${k.sizes.at(-1)?.fdsLivePerObject}→${k.sizes.at(-1)?.fdsPerObject}; awake ${k.sizes.at(-1)?.awakeAfterIdle}; ${k.sizes.at(-1)?.openedPerSecond}/s; ceiling ${k.ceiling?.objects ?? '?'}`;
  for (const kind of HELD_KINDS) {
    row(`held ${kind} (${SIZES.held.join(' / ')}, ${SIZES.heldIdleMs / 1000} s idle): per object`, (f) => heldCell(f.heldLogins?.kinds?.[kind]));
  }
  row('held: open-file limit (soft)', (f) => f.heldLogins?.openFileLimit && `${f.heldLogins.openFileLimit.soft}`);
  const pageCell = (pc?: PageCost) => pc && `${round(pc.gzipBytes / 1024, 1)} KiB gzip, ${pc.requests} req (${pc.requestsForFirstPaint} before paint), paint ${ms(pc.paintMs)} ms (p25–p75 ${ms(pc.paintP25Ms)}–${ms(pc.paintP75Ms)}; redirected ${pc.timelineMs.redirectedMs}, first byte ${pc.timelineMs.firstByteMs}, parsed ${pc.timelineMs.domInteractiveMs})`;
  row('login page', (f) => pageCell(f.pageCost), pageCell(p.pageCost));
  return out;
}

async function main(): Promise<void> {
  const started = new Date();
  const columns = COLUMNS.filter((c) => !ONLY_COLUMNS || ONLY_COLUMNS.includes(c));
  const loadBefore = loadavg();
  console.error(`Benchmark${QUICK ? ' (quick)' : ''}: ${cpus().length} × ${cpus()[0]?.model}, ${round(totalmem() / 2 ** 30, 0)} GiB, load ${loadBefore.map((l) => round(l, 2)).join(' ')}`);
  // The runtime columns serve the built client (dist/client) as wrangler dev does: build it first.
  execFileSync(new URL('../node_modules/.bin/vite', import.meta.url).pathname, ['build', '--logLevel', 'warn'], { stdio: 'inherit' });
  await peer();
  for (const column of columns) {
    await phase('cold', column, () => cold(column));
    await phase('floors', column, () => floors(column));
    if (!ONLY || ONLY.some((p) => ['latency', 'logins', 'page'].includes(p))) {
      // Not a phase itself: its latency, logins and page phases are filtered one by one.
      await product(column, column !== 'runtime-disk').catch((error) => {
        errors[`${column}.product`] = String(error).slice(0, 2000);
        console.error(`product server (${column}) failed: ${String(error).slice(0, 2000)}`);
      });
    }
    if (column !== 'dev') await phase('units', column, async () => void (figures[column].unitCosts = await unitCosts(STORAGE[column])));
    if (column !== 'dev') await phase('held', column, () => held(column));
  }
  const result = {
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    quick: QUICK,
    versions: { ...versions(), chromium: figures.peer.chromium },
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memoryBytes: totalmem(),
      loadAverageAtStart: loadBefore.map((l) => round(l, 2)),
      loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
      storage: STORAGE,
    },
    columns,
    targetColumn: TARGET_COLUMN,
    targets: targets(TARGET_COLUMN),
    targetsOnDisk: targets('runtime-disk'),
    figures,
    errors,
  };
  const dir = new URL('results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const partial = ONLY || ONLY_COLUMNS || process.env.BENCH_HELD_SIZES || process.env.BENCH_HELD_KINDS;
  const name = QUICK ? 'quick.json' : partial ? 'partial.json' : `${started.toISOString().slice(0, 19).replace(/:/g, '-')}.json`;
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(`${dir}${name}`, json);
  if (!QUICK && !partial) writeFileSync(`${dir}latest.json`, json);
  console.log(table(['figure', ...columns.map((c) => HEADERS[c]), 'node-oidc-provider'], rows(columns)));
  console.log(`\nTargets (${HEADERS[TARGET_COLUMN]} column; load average ${result.machine.loadAverageAtStart.join(' ')} → ${result.machine.loadAverageAtEnd.join(' ')}):`);
  console.log(
    table(
      ['target', 'ours', 'baseline', 'ratio', 'goal', 'met'],
      result.targets.map((t) => [t.name, String(t.ours), String(t.baseline), String(t.ratio), t.goal, t.met ? 'yes' : 'NO']),
    ),
  );
  if (Object.keys(errors).length) console.log(`\nFailed phases: ${Object.keys(errors).join(', ')}`);
  console.log(`\nWritten to bench/results/${name}`);
}

await main();
