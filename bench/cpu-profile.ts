/**
 * Where the runtime's CPU goes in a login, at JavaScript level: the product's Worker on the
 * runtime (tmpfs) with the V8 inspector open, V8's sampling profiler running in **every**
 * isolate of the workerd process (ours — the Worker and its Durable Objects — and Miniflare's:
 * the entry Worker, the asset router and asset Workers, the D1 simulator, the rate limiter)
 * while `LOGINS` sequential logins run. Per isolate, samples × the sampling interval ÷ logins,
 * beside the workerd process's /proc CPU over the same logins (what no isolate holds is workerd's
 * C++ outside JavaScript: sockets, HTTP, storage commits). In our isolate, samples counted per
 * function (self) and per source area (our src/ folders, each dependency, the runtime's
 * cloudflare-internal:* modules, V8's "(program)" and "(garbage collector)").
 * Sample counts, not time deltas: V8 drops ticks while workerd has the isolate unlocked, so a
 * delta also holds the idle wait before it (see below). Prints Markdown tables and writes
 * bench/results/cpu-profile.json. Not part of `npm run bench` (the inspector costs time).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { freePort } from '../scripts/lib/server.ts';
import { enrolPhone, registerRp, runLogin, startLogin } from '../test/e2e/flow.ts';
import { median, round, cpuMs } from './lib/stats.ts';
import { startRuntime } from './runtime.ts';

const LOGINS = Number(process.env.LOGINS ?? 60);
/** `PROFILE_FLOW=page`: only what the browser's first paint waits for — `/authorize` and the page's HTML. */
const PAGE_ONLY = process.env.PROFILE_FLOW === 'page';
/** `PROFILE_ISOLATES=all`: profile Miniflare's isolates too (costs workerd about twice the CPU). */
const ALL_ISOLATES = process.env.PROFILE_ISOLATES === 'all';
const OURS = 'core:user:bench-runtime';


interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const inspectorPort = await freePort();
const server = await startRuntime({ secrets: await generateSecrets(), storageRoot: '/dev/shm/mobile-key-bench', inspectorPort });

type Send = (method: string, params?: object) => Promise<unknown>;
interface Target { id: string; webSocketDebuggerUrl: string }

/** Every isolate workerd runs (ours, and Miniflare's entry, asset, D1 and rate-limit Workers). */
async function targets(): Promise<Target[]> {
  return (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Target[];
}

/** One CDP session over a target's inspector WebSocket. */
async function connect(target: Target): Promise<Send> {
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 1;
  const pending = new Map<number, (value: unknown) => void>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)!(message.error ? Promise.reject(new Error(JSON.stringify(message.error))) : message.result);
      pending.delete(message.id);
    }
  });
  return (method, params = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
}

/** The bundle's `// path` section comments (esbuild writes one per module): [first line, path]. */
const sections: [number, string][] = [];
function sectionOf(url: string, line: number): string | undefined {
  if (!url.endsWith('/index.js') || !url.includes('bench-build-')) return undefined; // our bundle; not cloudflare-internal:* nor Miniflare's
  if (sections.length === 0) {
    const path = url.replace(/^file:\/\//, '');
    try {
      for (const [i, text] of readFileSync(path, 'utf8').split('\n').entries()) {
        const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
        if (m) sections.push([i, m[1]!]);
      }
    } catch {
      return undefined;
    }
  }
  let found: string | undefined;
  for (const [first, path] of sections) if (first <= line) found = path;
  return found;
}

/** Which area a sample's source belongs to. */
function areaOf(node: ProfileNode): string {
  const { functionName, lineNumber } = node.callFrame;
  let { url } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / builtin)';
  url = sectionOf(url, lineNumber) ?? url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  const ours = /src\/([^/]+)\//.exec(url);
  if (/\bsrc\/[^/]+$/.test(url)) return url.replace(/^.*\bsrc\//, 'src/');
  if (ours) return `src/${ours[1]}`;
  return url.replace(/^.*\//, '');
}

try {
  const flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
  const rp = await registerRp(flow);
  const key = await enrolPhone(flow, { deviceName: 'Profile phone' });
  for (let i = 0; i < 5; i++) await runLogin(flow, rp, key, { timeoutMs: 30_000 }); // warm-up
  const isolates = (await targets()).filter((t) => ALL_ISOLATES || t.id === OURS);
  const sessions = await Promise.all(isolates.map(async (t) => ({ id: t.id, send: await connect(t) })));
  for (const { send } of sessions) {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 200 });
  }
  const pid = server.workerdPid();
  await Promise.all(sessions.map(({ send }) => send('Profiler.start')));
  const cpu0 = pid ? cpuMs(pid) : Number.NaN;
  for (let i = 0; i < LOGINS; i++) {
    if (PAGE_ONLY) await startLogin(flow, rp);
    else await runLogin(flow, rp, key, { timeoutMs: 30_000 });
  }
  const workerdMs = pid ? cpuMs(pid) - cpu0 : Number.NaN;
  const profiles = await Promise.all(sessions.map(async ({ id, send }) => ({ id, profile: ((await send('Profiler.stop')) as { profile: Profile }).profile })));
  // V8 takes a sample only while the isolate is locked (running JavaScript or a native call made
  // from it); while workerd has it unlocked between events the sampler's ticks are dropped, so a
  // sample's time delta also holds the idle wait before it (up to tens of ms, charged to whatever
  // runs first after I/O: that made Hono's dispatch and the D1 client look hot). Count samples
  // instead: each is one sampling interval of that isolate's CPU; the interval is the median
  // delta (the waits are the upper tail).
  const count = (profile: Profile, intervalUs: number) => {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const hits = new Map<ProfileNode, number>();
    for (const id of profile.samples) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName !== '(idle)') hits.set(node, (hits.get(node) ?? 0) + 1);
    }
    const samples = [...hits.values()].reduce((a, b) => a + b, 0);
    return { hits, intervalUs, samples, msPerLogin: (samples * intervalUs) / 1000 / LOGINS };
  };
  // Our isolate runs most often, so its deltas give the interval (a rarely running isolate's
  // median delta is a wait, not the interval).
  const ourProfile = profiles.find((p) => p.id === OURS)?.profile;
  if (!ourProfile) throw new Error('no profile of our isolate');
  const intervalUs = median(ourProfile.timeDeltas.filter((d) => d > 0));
  const counted = profiles.map(({ id, profile }) => ({ id, ...count(profile, intervalUs) })).filter((p) => p.samples > 0);
  const ours = counted.find((p) => p.id === OURS);
  if (!ours) throw new Error('no samples from our isolate');
  const sum = (p: (typeof counted)[number], key: (n: ProfileNode) => string) => {
    const out = new Map<string, number>();
    for (const [node, n] of p.hits) out.set(key(node), (out.get(key(node)) ?? 0) + n);
    return [...out]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => ({ name, msPerLogin: round((n * intervalUs) / 1000 / LOGINS, 2), share: round((100 * n) / p.samples, 1) }));
  };
  const fn = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${areaOf(n)}:${n.callFrame.lineNumber + 1}`;
  const result = {
    date: new Date().toISOString(),
    logins: LOGINS,
    loadAverage: loadavg().map((l) => round(l, 2)),
    samplingIntervalUs: round(intervalUs, 0),
    /** The workerd process's user+system CPU (/proc) over the same logins, profiler on, ms. */
    workerdMsPerLogin: round(workerdMs / LOGINS, 2),
    /** Per isolate: samples × interval ÷ logins, ms; the rest of workerd's CPU ran outside them. */
    isolates: counted
      .sort((a, b) => b.samples - a.samples)
      .map((p) => ({ name: p.id, msPerLogin: round(p.msPerLogin, 2), share: round((100 * p.msPerLogin * LOGINS) / workerdMs, 1), top: sum(p, fn).slice(0, 5) })),
    areas: sum(ours, areaOf),
    files: sum(ours, (n) => sectionOf(n.callFrame.url, n.callFrame.lineNumber) ?? areaOf(n)).slice(0, 25),
    functions: sum(ours, fn).slice(0, 25),
  };
  const inIsolates = result.isolates.reduce((n, i) => n + i.msPerLogin, 0);
  mkdirSync(new URL('results/', import.meta.url).pathname, { recursive: true });
  writeFileSync(new URL('results/cpu-profile.json', import.meta.url).pathname, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`workerd ${result.workerdMsPerLogin} ms of CPU per login (/proc, profiler on) over ${LOGINS} logins; sampling interval ${result.samplingIntervalUs} µs; load average ${result.loadAverage.join(' ')}\n`);
  console.log('| isolate | ms per login | share of workerd | top functions (self) |\n| --- | --: | --: | --- |');
  for (const i of result.isolates) console.log(`| ${i.name} | ${i.msPerLogin} | ${i.share} % | ${i.top.slice(0, 3).map((f) => `\`${f.name}\` ${f.share} %`).join(', ')} |`);
  if (ALL_ISOLATES) console.log(`| outside any isolate (sockets, HTTP, storage commits, …) | ${round(result.workerdMsPerLogin - inIsolates, 2)} | ${round((100 * (result.workerdMsPerLogin - inIsolates)) / result.workerdMsPerLogin, 1)} % | |`);
  console.log('\nOur isolate (the Worker and its Durable Objects):\n\n| area | ms per login | share of the isolate |\n| --- | --: | --: |');
  for (const a of result.areas.slice(0, 15)) console.log(`| ${a.name} | ${a.msPerLogin} | ${a.share} % |`);
  console.log('\n| file | ms per login | share |\n| --- | --: | --: |');
  for (const f of result.files) console.log(`| ${f.name} | ${f.msPerLogin} | ${f.share} % |`);
  console.log('\n| function | ms per login | share |\n| --- | --: | --: |');
  for (const f of result.functions) console.log(`| \`${f.name}\` | ${f.msPerLogin} | ${f.share} % |`);
} catch (error) {
  console.error(server.output().slice(-3000));
  throw error;
} finally {
  await server.stop();
}
