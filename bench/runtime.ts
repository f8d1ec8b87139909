/**
 * Starts the bench's "runtime" column (bench/runtime-host.ts): the Worker built as
 * `wrangler deploy` builds it, on workerd through Miniflare's API, in its own process group on
 * loopback. Same shape as scripts/lib/server.ts's RunningServer, so every phase runs on either.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, migrateLocal, wrangler, WRANGLER_ENV, type RunningServer } from '../scripts/lib/server.ts';
import type { LocalSecrets } from '../scripts/lib/secrets.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const built = new Map<string, string>();

/**
 * Bundles `configPath`'s Worker with `wrangler deploy --dry-run --outdir` (the deploy build,
 * once per run). @returns the path of the bundle's index.js.
 */
async function build(configPath: string): Promise<string> {
  const cached = built.get(configPath);
  if (cached) return cached;
  // Inside the project: workerd resolves the script relative to the project root.
  mkdirSync(join(ROOT, '.wrangler'), { recursive: true });
  const outdir = mkdtempSync(join(ROOT, '.wrangler/bench-build-'));
  await wrangler(['deploy', '--dry-run', '--config', configPath, '--outdir', outdir], { quiet: true });
  // Named after the configuration's `main` (index.js, entry.js).
  const script = join(outdir, readdirSync(outdir).find((f) => f.endsWith('.js'))!);
  built.set(configPath, script);
  return script;
}

export interface RuntimeOptions {
  secrets: LocalSecrets;
  /** Storage root; its parent decides tmpfs (/dev/shm) or disk. */
  storageRoot: string;
  /** bench/echo/wrangler.toml for the floors; the product's wrangler.toml when omitted. */
  configPath?: string;
  /** The configuration is the product's (migrations, secrets, ISSUER): default when no configPath. */
  product?: boolean;
  maxOpenFiles?: number;
  /** bench/cpu-profile.ts only: open the V8 inspector on this port. */
  inspectorPort?: number;
  /** `log`: resolve on the host's "ready" line without sending a request (the cold path). */
  readiness?: 'healthz' | 'log';
  /**
   * Requests go through Miniflare's entry Worker (its stand-in for Cloudflare's front line) rather
   * than the direct socket every bench column uses (bench/runtime-host.ts): for comparisons only.
   */
  throughEntryWorker?: boolean;
}

/** A running runtime: also the pid of its workerd, for /proc. */
export interface RunningRuntime extends RunningServer {
  workerdPid(): number | undefined;
}

/** Starts the runtime; resolves once it answers `/healthz`. @throws {Error} after 90 s. */
export async function startRuntime(options: RuntimeOptions): Promise<RunningRuntime> {
  const product = options.product ?? !options.configPath;
  const configPath = options.configPath ?? 'wrangler.toml';
  const scriptPath = await build(configPath);
  mkdirSync(options.storageRoot, { recursive: true });
  const persistTo = mkdtempSync(join(options.storageRoot, 'mobile-key-'));
  if (product) await migrateLocal(persistTo);
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const bindings: Record<string, string> = product ? { ...options.secrets, ISSUER: url } : {};
  const config = JSON.stringify({ configPath: join(ROOT, configPath), scriptPath, port, persistTo, bindings, ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}), direct: !options.throughEntryWorker });
  const node = join(ROOT, 'node_modules/.bin/node');
  const host = join(ROOT, 'bench/runtime-host.ts');
  const [command, args] = options.maxOpenFiles
    ? ['/bin/sh', ['-c', `ulimit -Hn ${options.maxOpenFiles} 2>/dev/null; ulimit -n ${options.maxOpenFiles} 2>/dev/null; exec "$0" "$@"`, node, host, config]]
    : [node, [host, config]];
  const child = spawn(command, args, { cwd: ROOT, env: WRANGLER_ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`runtime exited early:\n${output}`);
    if (output.includes('ready http')) {
      if (options.readiness === 'log') break;
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not up yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`runtime did not answer within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pgid = child.pid!;
  return {
    url,
    port,
    persistTo,
    secrets: options.secrets,
    output: () => output,
    stop,
    pgid,
    workerdPid: () => processesOf(pgid, 'workerd')[0],
  };
}

/** Pids of the processes in group `pgid` whose command is `name`. */
export function processesOf(pgid: number, name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && command === name) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
