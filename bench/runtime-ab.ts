/**
 * An interleaved A/B of workerd's CPU per complete login on the runtime column (tmpfs): the
 * product built from another checkout (`AB_BASE`, e.g. a `git worktree` of main; its own
 * bench/runtime.ts builds it there as `wrangler deploy` would) against this checkout, both
 * running at once, then `ROUNDS` rounds of `LOGINS` sequential logins alternating A, B, A, B…
 * Per round, each workerd's user+system CPU (`/proc/<pid>/stat`, 10 ms ticks) ÷ logins; the
 * medians and every round. Alternating rounds in one sitting cancels most of the drift a shared
 * machine adds, which separate runs of bench/profile.ts do not. Not part of `npm run bench`.
 *
 *   AB_BASE=/work/wt/base node bench/runtime-ab.ts     # ROUNDS=10 LOGINS=30 by default
 *
 * `AB_CONFIG=path/to/wrangler.toml` (relative to this checkout) builds B from another
 * configuration, to split a change into its parts.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { generateSecrets } from '../scripts/lib/secrets.ts';
import { enrolPhone, registerRp, runLogin } from '../test/e2e/flow.ts';
import { median, round, cpuMs } from './lib/stats.ts';
import { startRuntime, type RunningRuntime } from './runtime.ts';

const BASE = process.env.AB_BASE;
if (!BASE) throw new Error('AB_BASE: the checkout to compare against (its node_modules and dist/client in place)');
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const LOGINS = Number(process.env.LOGINS ?? 30);


const base = (await import(join(BASE, 'bench/runtime.ts'))) as { startRuntime: typeof startRuntime };
const secrets = await generateSecrets();
const storageRoot = '/dev/shm/mobile-key-ab';
const servers: { name: string; server: RunningRuntime }[] = [];
try {
  servers.push({ name: `A (${BASE})`, server: await base.startRuntime({ secrets, storageRoot }) });
  const configPath = process.env.AB_CONFIG; // B's configuration, if not wrangler.toml
  servers.push({ name: `B (this checkout${configPath ? `, ${configPath}` : ''})`, server: await startRuntime({ secrets, storageRoot, ...(configPath ? { configPath, product: true } : {}) }) });
  const runs: { name: string; pid: number; login: () => Promise<unknown>; rounds: number[] }[] = [];
  for (const { name, server } of servers) {
    const flow = { url: server.url, adminToken: secrets.ADMIN_TOKEN };
    const rp = await registerRp(flow);
    const key = await enrolPhone(flow, { deviceName: 'A/B phone' });
    for (let i = 0; i < 5; i++) await runLogin(flow, rp, key, { timeoutMs: 30_000 }); // warm-up
    runs.push({ name, pid: server.workerdPid()!, login: () => runLogin(flow, rp, key, { timeoutMs: 30_000 }), rounds: [] });
  }
  const load0 = loadavg();
  for (let r = 0; r < ROUNDS; r++) {
    for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
      const before = cpuMs(run.pid);
      for (let i = 0; i < LOGINS; i++) await run.login();
      run.rounds.push((cpuMs(run.pid) - before) / LOGINS);
    }
  }
  const load1 = loadavg();
  console.log('| build | workerd CPU per login (ms, median round) | rounds |\n| --- | --: | --- |');
  for (const run of runs) console.log(`| ${run.name} | ${round(median(run.rounds), 2)} | ${run.rounds.map((x) => round(x, 1)).join(', ')} |`);
  const ratio = runs[1]!.rounds.map((b, i) => b / runs[0]!.rounds[i]!);
  console.log(`\nB ÷ A per round pair: median ${round(median(ratio), 3)} (${ratio.map((x) => round(x, 2)).join(', ')})`);
  console.log(`${ROUNDS} rounds of ${LOGINS} logins each, alternating; load average ${load0.map((l) => round(l, 2)).join(' ')} → ${load1.map((l) => round(l, 2)).join(' ')}`);
} finally {
  await Promise.all(servers.map(({ server }) => server.stop()));
}
