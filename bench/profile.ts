/**
 * Profiles complete logins on the runtime column (tmpfs): every HTTP request the browser, the
 * phone and the relying service make (timed by the client), and inside each the D1 queries and
 * Durable Object calls the Worker made (timed by a wrapper, bench/profile/entry.ts). One warm-up
 * login, then `LOGINS` profiled ones; per request the median over them. Writes
 * bench/results/profile.json and prints a Markdown table (docs/performance.md).
 *
 * Then the CPU the runtime spends per login, which a loaded machine disturbs far less than wall
 * time: `CPU_ROUNDS` rounds of `CPU_LOGINS` sequential logins, each round the user+system CPU
 * time of the workerd process (`/proc/<pid>/stat` utime+stime, 10 ms ticks) ÷ logins; the
 * median round is reported. (No hardware instruction counters on this machine: `perf stat -e
 * instructions` is not supported in the VM, and callgrind under V8's JIT is too slow to use.)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { enrolPhone, registerRp, runLogin } from '../test/e2e/flow.ts';
import { median, round, cpuMs } from './lib/stats.ts';
import { peerLogin, startPeer } from './peer.ts';
import { processesOf, startRuntime } from './runtime.ts';
import { freePort } from '../scripts/lib/server.ts';

const LOGINS = process.env.BENCH_QUICK === '1' ? 2 : 9;
const CPU_ROUNDS = process.env.BENCH_QUICK === '1' ? 1 : 5;
const CPU_LOGINS = process.env.BENCH_QUICK === '1' ? 10 : 60;


interface Call { kind: 'd1' | 'do'; what: string; ms: number }
interface ServerRecord { method: string; path: string; calls: Call[] }
interface ClientRecord { method: string; path: string; ms: number }

const server = await startRuntime({
  secrets: await generateSecrets(),
  storageRoot: '/dev/shm/mobile-key-bench',
  configPath: 'bench/profile/wrangler.toml',
  product: true,
});
const client: ClientRecord[] = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  const t0 = performance.now();
  const response = await realFetch(input, init);
  if (url.origin === new URL(server.url).origin && url.pathname !== '/__profile') {
    // Time to the whole body, as the caller reads it.
    const body = await response.arrayBuffer();
    client.push({ method: request.method, path: url.pathname, ms: performance.now() - t0 });
    return new Response(response.status === 101 || response.status === 204 || response.status === 304 ? null : body, response);
  }
  return response;
};
const pathName = (p: string) => p.replace(/\/[0-9a-f]{64}(?=\/|$)/g, '/:id');

try {
  const flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
  const rp = await registerRp(flow);
  const key = await enrolPhone(flow, { deviceName: 'Profile phone' });
  await runLogin(flow, rp, key, { timeoutMs: 30_000 });
  const runs: { client: ClientRecord[]; server: ServerRecord[]; totalMs: number }[] = [];
  for (let i = 0; i < LOGINS; i++) {
    await realFetch(`${server.url}/__profile`).then((r) => r.arrayBuffer());
    client.length = 0;
    const login = await runLogin(flow, rp, key, { timeoutMs: 30_000 });
    const records = (await (await realFetch(`${server.url}/__profile`)).json()) as ServerRecord[];
    runs.push({ client: [...client], server: records, totalMs: login.timings.total });
  }
  // Pair each server record with the client request of the same method and path, in order.
  const steps = runs[0]!.server.map((s, i) => {
    const per = runs.map((run) => {
      const rec = run.server[i]!;
      const c = run.client.filter((x) => x.method === rec.method && pathName(x.path) === pathName(rec.path));
      const nth = run.server.slice(0, i).filter((x) => x.method === rec.method && pathName(x.path) === pathName(rec.path)).length;
      const d1 = rec.calls.filter((x) => x.kind === 'd1');
      const dos = rec.calls.filter((x) => x.kind === 'do');
      return { clientMs: c[nth]?.ms ?? Number.NaN, d1: d1.length, d1Ms: d1.reduce((n, x) => n + x.ms, 0), do: dos.length, doMs: dos.reduce((n, x) => n + x.ms, 0), calls: rec.calls.map((x) => `${x.kind}:${x.what}`) };
    });
    return {
      request: `${s.method} ${pathName(s.path)}`,
      clientMs: round(median(per.map((p) => p.clientMs).filter(Number.isFinite)), 2),
      d1Queries: per[0]!.d1,
      d1Ms: round(median(per.map((p) => p.d1Ms)), 2),
      doCalls: per[0]!.do,
      doMs: round(median(per.map((p) => p.doMs)), 2),
      calls: per[0]!.calls,
    };
  });
  const pid = server.workerdPid();
  if (!pid) throw new Error('no workerd process');
  const cpuRounds: number[] = [];
  for (let r = 0; r < CPU_ROUNDS; r++) {
    const before = cpuMs(pid);
    for (let i = 0; i < CPU_LOGINS; i++) await runLogin(flow, rp, key, { timeoutMs: 30_000 });
    cpuRounds.push((cpuMs(pid) - before) / CPU_LOGINS);
  }
  client.length = 0;
  // The peer the same way, in the same run: node-oidc-provider's process CPU per complete login
  // (its login and consent forms, code exchange, UserInfo; bench/peer.ts).
  // And once more with a durable store (bench/peer-store.ts: SQLite on tmpfs, as our column),
  // the way node-oidc-provider is deployed: its built-in adapter keeps everything in memory.
  const peerCpu = async (store?: string) => {
    const peer = await startPeer(await freePort(), store ? { store } : {});
    const rounds: number[] = [];
    try {
      const peerPid = processesOf(peer.pgid, 'node')[0] ?? peer.pgid;
      for (let i = 0; i < 5; i++) await peerLogin(peer, `warm-${i}`);
      for (let r = 0; r < CPU_ROUNDS; r++) {
        const before = cpuMs(peerPid);
        for (let i = 0; i < CPU_LOGINS; i++) await peerLogin(peer, `user-${r}-${i}`);
        rounds.push((cpuMs(peerPid) - before) / CPU_LOGINS);
      }
    } finally {
      await peer.stop();
    }
    return rounds;
  };
  const peerRounds = await peerCpu();
  mkdirSync('/dev/shm/mobile-key-bench', { recursive: true });
  const store = `/dev/shm/mobile-key-bench/peer-${process.pid}.sqlite`;
  const durablePeerRounds = await peerCpu(store);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
  const totals = {
    requests: steps.length,
    d1Queries: steps.reduce((n, s) => n + s.d1Queries, 0),
    d1Ms: round(steps.reduce((n, s) => n + s.d1Ms, 0), 2),
    doCalls: steps.reduce((n, s) => n + s.doCalls, 0),
    doMs: round(steps.reduce((n, s) => n + s.doMs, 0), 2),
    clientMs: round(steps.reduce((n, s) => n + (Number.isFinite(s.clientMs) ? s.clientMs : 0), 0), 2),
    loginMedianMs: round(median(runs.map((r) => r.totalMs)), 2),
    /** workerd CPU per login, ms: the median round, and every round. */
    cpuMsPerLogin: round(median(cpuRounds), 2),
    cpuRounds: cpuRounds.map((x) => round(x, 2)),
    /** node-oidc-provider's process CPU per login, ms, the same way. */
    peerCpuMsPerLogin: round(median(peerRounds), 2),
    peerCpuRounds: peerRounds.map((x) => round(x, 2)),
    /** The same with the peer's state in SQLite (bench/peer-store.ts). */
    durablePeerCpuMsPerLogin: round(median(durablePeerRounds), 2),
    durablePeerCpuRounds: durablePeerRounds.map((x) => round(x, 2)),
  };
  const result = { date: new Date().toISOString(), logins: LOGINS, loadAverage: loadavg().map((l) => round(l, 2)), steps, totals };
  const dir = new URL('results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}profile.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log('| # | request | client ms | D1 queries | D1 ms | DO calls | DO ms | calls |');
  console.log('| - | --- | --: | --: | --: | --: | --: | --- |');
  for (const [i, s] of steps.entries()) {
    console.log(`| ${i + 1} | \`${s.request}\` | ${s.clientMs} | ${s.d1Queries} | ${s.d1Ms} | ${s.doCalls} | ${s.doMs} | ${s.calls.join(', ')} |`);
  }
  console.log(`| | **total** (${totals.requests} requests; login median ${totals.loginMedianMs} ms) | ${totals.clientMs} | ${totals.d1Queries} | ${totals.d1Ms} | ${totals.doCalls} | ${totals.doMs} | |`);
  console.log(`\nworkerd CPU per login: ${totals.cpuMsPerLogin} ms (median of ${CPU_ROUNDS} rounds of ${CPU_LOGINS}: ${totals.cpuRounds.join(', ')})`);
  console.log(`node-oidc-provider CPU per login: ${totals.peerCpuMsPerLogin} ms (${totals.peerCpuRounds.join(', ')})`);
  console.log(`node-oidc-provider with a SQLite store: ${totals.durablePeerCpuMsPerLogin} ms (${totals.durablePeerCpuRounds.join(', ')})`);
  console.log(`\nload average ${result.loadAverage.join(' ')}; medians over ${LOGINS} logins; bench/results/profile.json`);
} catch (error) {
  console.error(server.output().slice(-3000));
  throw error;
} finally {
  await server.stop();
}
