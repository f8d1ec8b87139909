/**
 * Where the runtime's CPU goes in a login, at JavaScript level: the product's Worker on the
 * runtime (tmpfs) with the V8 inspector open, the sampling profiler of the Worker's isolate
 * (Worker and Durable Objects alike) running while `LOGINS` sequential logins run, then the
 * samples' self time summed per function and per source area (our src/ folders, each
 * dependency, V8's "(program)" and "(garbage collector)"). Sample counts, not wall time, so a
 * loaded machine shifts the total less than the shares. Prints two Markdown tables and writes
 * bench/results/cpu-profile.json. Not part of `npm run bench` (the inspector costs time).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { freePort } from '../scripts/lib/server.ts';
import { enrolPhone, registerRp, runLogin } from '../test/e2e/flow.ts';
import { round } from './lib/stats.ts';
import { startRuntime } from './runtime.ts';

const LOGINS = Number(process.env.LOGINS ?? 60);

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

/** One CDP session over the inspector's WebSocket. */
async function connect(): Promise<(method: string, params?: object) => Promise<unknown>> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { title?: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.title?.includes('bench-runtime')) ?? targets[0];
  if (!target) throw new Error('no inspector target');
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
  if (!url.endsWith('/index.js')) return undefined; // the bundle; not cloudflare-internal:*
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
  const send = await connect();
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  for (let i = 0; i < LOGINS; i++) await runLogin(flow, rp, key, { timeoutMs: 30_000 });
  const { profile } = (await send('Profiler.stop')) as { profile: Profile };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busy = total - idleUs;
  const sum = (key: (n: ProfileNode) => string) => {
    const out = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName === '(idle)') continue;
      out.set(key(node), (out.get(key(node)) ?? 0) + us);
    }
    return [...out].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, msPerLogin: round(us / 1000 / LOGINS, 2), share: round((100 * us) / busy, 1) }));
  };
  const areas = sum(areaOf);
  const functions = sum((n) => `${n.callFrame.functionName || '(anonymous)'} ${areaOf(n)}:${n.callFrame.lineNumber + 1}`).slice(0, 25);
  const files = sum((n) => sectionOf(n.callFrame.url, n.callFrame.lineNumber) ?? areaOf(n)).slice(0, 25);
  const result = { date: new Date().toISOString(), logins: LOGINS, busyMsPerLogin: round(busy / 1000 / LOGINS, 2), areas, files, functions };
  mkdirSync(new URL('results/', import.meta.url).pathname, { recursive: true });
  writeFileSync(new URL('results/cpu-profile.json', import.meta.url).pathname, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`isolate busy (not idle) ${result.busyMsPerLogin} ms per login over ${LOGINS} logins\n`);
  console.log('| area | ms per login | share |\n| --- | --: | --: |');
  for (const a of areas.slice(0, 15)) console.log(`| ${a.name} | ${a.msPerLogin} | ${a.share} % |`);
  console.log('\n| file | ms per login | share |\n| --- | --: | --: |');
  for (const f of files) console.log(`| ${f.name} | ${f.msPerLogin} | ${f.share} % |`);
  console.log('\n| function | ms per login | share |\n| --- | --: | --: |');
  for (const f of functions) console.log(`| \`${f.name}\` | ${f.msPerLogin} | ${f.share} % |`);
} catch (error) {
  console.error(server.output().slice(-3000));
  throw error;
} finally {
  await server.stop();
}
