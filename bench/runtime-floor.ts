/**
 * The per-request floor on the runtime column (tmpfs): workerd's CPU for one trivial request to
 * the product's Worker against the echo Worker's (bench/echo/), both built as `wrangler deploy`
 * builds them and run side by side on the same workerd. `ROUNDS` rounds, each of `REQUESTS`
 * sequential keep-alive GETs per target, interleaved (ours, echo, ours, echo…); per target the
 * median round's user+system CPU of its workerd process (`/proc/<pid>/stat`, 10 ms ticks) ÷
 * requests, in microseconds. Not part of `npm run bench`; docs/performance.md ("Per-request
 * overhead") quotes it.
 *
 * Targets (all GET, after 50 warm-up requests each):
 * - `echo /healthz` — bench/echo: a bare `fetch` handler answering a constant.
 * - `ours /healthz` — the product's Hono app, no `Accept` header (a probe).
 * - `ours /healthz (html)` — the same with a browser's `Accept: text/html,…`.
 * - `ours 404` — an unknown path (the not-found handler, problem JSON).
 * - `ours discovery` — `/.well-known/openid-configuration` (a real, cheap JSON route).
 *
 * `FLOOR_TARGETS=echo,healthz` picks targets; `REQUESTS` and `ROUNDS` size it;
 * `FLOOR_OURS_CONFIG` / `FLOOR_ECHO_CONFIG` (paths relative to the project) measure another
 * configuration of either; several comma-separated `FLOOR_OURS_CONFIG`s run side by side,
 * interleaved (an A/B of build settings in one sitting). Prints a Markdown table with the load average.
 */
import { loadavg } from 'node:os';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { median, round, cpuMs } from './lib/stats.ts';
import { startRuntime, type RunningRuntime } from './runtime.ts';

const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';


interface Target {
  name: string;
  /** `ours`, `echo`, or `ours:<config>` for a further configuration of ours. */
  server: string;
  path: string;
  headers?: Record<string, string>;
}
const ALL: Target[] = [
  { name: 'echo /healthz', server: 'echo', path: '/healthz' },
  { name: 'ours /healthz', server: 'ours', path: '/healthz' },
  { name: 'ours /healthz (html)', server: 'ours', path: '/healthz', headers: { Accept: HTML } },
  { name: 'ours 404', server: 'ours', path: '/no/such/path' },
  { name: 'ours discovery', server: 'ours', path: '/.well-known/openid-configuration' },
];
const picked = process.env.FLOOR_TARGETS?.split(',');
const chosen = picked ? ALL.filter((t) => picked.some((p) => t.name.includes(p))) : ALL;
// FLOOR_OURS_CONFIG=a.toml,b.toml: every `ours` target once per configuration, interleaved.
const oursConfigs = (process.env.FLOOR_OURS_CONFIG ?? 'wrangler.toml').split(',');
const targets: Target[] = chosen.flatMap((t) =>
  t.server !== 'ours' || oursConfigs.length === 1
    ? [t]
    : oursConfigs.map((config) => ({ ...t, server: `ours:${config}`, name: t.name.replace(/^ours/, `ours [${config}]`) })),
);

const secrets = await generateSecrets();
const servers: Record<string, RunningRuntime> = {};
try {
  const echoConfig = process.env.FLOOR_ECHO_CONFIG ?? 'bench/echo/wrangler.toml';
  for (const server of new Set(targets.map((t) => t.server))) {
    const configPath = server === 'echo' ? echoConfig : server === 'ours' ? oursConfigs[0]! : server.slice('ours:'.length);
    servers[server] = await startRuntime({ secrets, storageRoot: '/dev/shm/mobile-key-floor', configPath, product: server !== 'echo' });
  }
  const send = async (t: Target, count: number) => {
    const url = `${servers[t.server]!.url}${t.path}`;
    for (let i = 0; i < count; i++) await (await fetch(url, { headers: t.headers })).arrayBuffer();
  };
  for (const t of targets) await send(t, 50);
  const rounds = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const load0 = loadavg();
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of targets) {
      const pid = servers[t.server]!.workerdPid()!;
      const before = cpuMs(pid);
      await send(t, REQUESTS);
      rounds.get(t.name)!.push(((cpuMs(pid) - before) * 1000) / REQUESTS);
    }
  }
  const load1 = loadavg();
  console.log('| request | workerd CPU per request (µs, median round) | rounds |\n| --- | --: | --- |');
  for (const t of targets) {
    const r = rounds.get(t.name)!;
    console.log(`| ${t.name} | ${round(median(r), 0)} | ${r.map((x) => round(x, 0)).join(', ')} |`);
  }
  console.log(`\n${ROUNDS} rounds of ${REQUESTS} requests each; load average ${load0.map((l) => round(l, 2)).join(' ')} → ${load1.map((l) => round(l, 2)).join(' ')}`);
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
