/**
 * Starts and stops `wrangler dev` for scripts and end-to-end tests: its own process group (so
 * stopping it also stops workerd), loopback only, a chosen port and persistence folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDotenv, type LocalSecrets } from './secrets.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * Environment for every wrangler command: no telemetry, no network look-ups, and the project's
 * Node 22 (node_modules/.bin) first on PATH even when not started through an npm script.
 */
export const WRANGLER_ENV = {
  ...process.env,
  PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_D1_WARNING: 'true',
  FORCE_COLOR: '0',
};

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a wrangler command to completion. @throws {Error} with its output if it fails. */
export function wrangler(args: string[], options: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/wrangler'), args, {
      cwd: ROOT,
      env: WRANGLER_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.join(' ')} exited ${code}:\n${output}`));
    });
    if (!options.quiet) child.stdout.pipe(process.stderr);
  });
}

/** Applies the D1 migrations to the local database in `persistTo` (default `.wrangler/state`). */
export async function migrateLocal(persistTo?: string): Promise<void> {
  await wrangler(['d1', 'migrations', 'apply', 'DB', '--local', ...(persistTo ? ['--persist-to', persistTo] : [])], {
    quiet: true,
  });
}

export interface RunningServer {
  /** e.g. http://localhost:8788 (also the issuer). */
  url: string;
  port: number;
  persistTo: string;
  secrets: LocalSecrets;
  /** Everything wrangler and workerd printed so far. */
  output(): string;
  /** Stops the process group and waits for it to exit. */
  stop(): Promise<void>;
  /** The process group id (wrangler, esbuild and workerd all belong to it). */
  pgid: number;
}

export interface StartOptions {
  secrets: LocalSecrets;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Persistence folder; a fresh temporary one when omitted. Reuse it to restart with the same data. */
  persistTo?: string;
  /**
   * Apply the D1 migrations before starting (default true). False only when `persistTo` already
   * holds this migrations folder's database (e2e tests copy one migrated template).
   */
  migrate?: boolean;
  /** Extra vars (override wrangler.toml). */
  vars?: Record<string, string>;
  /** Print the server's output to stderr as it comes (for `npm start`). */
  inherit?: boolean;
  /** Another Wrangler configuration (benchmarks' baseline worker); skips D1 migrations and secrets. */
  configPath?: string;
  /**
   * How to tell the server is up: `healthz` (default) polls `/healthz`; `log` waits for
   * wrangler's "Ready on" line and sends no request, so the caller's first request is the
   * runtime's first (the benchmark's cold path).
   */
  readiness?: 'healthz' | 'log';
  /**
   * Raise the open-file limit of the server's processes to this (where allowed: root, or under
   * the hard limit). workerd holds several descriptors per live Durable Object, so thousands of
   * held logins exceed a 20,000 limit. Ignored when the limit cannot be raised.
   */
  maxOpenFiles?: number;
}

/**
 * Applies migrations and starts `wrangler dev` on 127.0.0.1, resolving once `/healthz` answers.
 * @throws {Error} with the server's output when it does not come up within 90 s.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), 'mobile-key-'));
  // `npm start` on a fresh clone names .wrangler/state before anything has created it.
  mkdirSync(persistTo, { recursive: true });
  const url = `http://localhost:${port}`;
  const envFile = join(persistTo, 'secrets.env');
  writeFileSync(envFile, formatDotenv({ ...options.secrets }), { mode: 0o600 });
  if (!options.configPath && options.migrate !== false) await migrateLocal(persistTo);
  const vars = options.configPath ? { ...options.vars } : { ISSUER: url, ...options.vars };
  const args = [
    'dev',
    ...(options.configPath ? ['--config', options.configPath] : []),
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspectorPort),
    '--persist-to', persistTo,
    '--env-file', envFile,
    '--show-interactive-dev-session=false',
    '--live-reload=false',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const wranglerBin = join(ROOT, 'node_modules/.bin/wrangler');
  const [command, commandArgs] = options.maxOpenFiles
    ? [
        '/bin/sh',
        [
          '-c',
          // Raise the hard limit too where we may (root), then the soft one; carry on either way.
          `ulimit -Hn ${options.maxOpenFiles} 2>/dev/null; ulimit -n ${options.maxOpenFiles} 2>/dev/null; exec "$0" "$@"`,
          wranglerBin,
          ...args,
        ],
      ]
    : [wranglerBin, args];
  const child: ChildProcess = spawn(command, commandArgs, {
    cwd: ROOT,
    env: WRANGLER_ENV,
    detached: true, // own process group: stop() ends workerd too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer) => {
    output += d;
    if (options.inherit) process.stderr.write(d);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
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
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    if (options.readiness === 'log') {
      if (/Ready on http/.test(output)) break;
    } else {
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.ok) break;
      } catch {
        // not up yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, persistTo, secrets: options.secrets, output: () => output, stop, pgid: child.pid! };
}
