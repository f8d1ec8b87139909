/**
 * The bench's "runtime" column: one built Worker on workerd through Miniflare's API directly,
 * without `wrangler dev`'s proxy Worker (a second workerd), its local explorer, local
 * observability or request logging. Run as its own process (bench/runtime.ts starts it in its
 * own process group) so workerd's resident memory and limits can be read alone.
 *
 * argv[2]: JSON {@link HostConfig}. Prints `ready <url>` on stdout once the runtime answers.
 * Settings and why: docs/performance.md ("The runtime column").
 */
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

interface HostConfig {
  /** wrangler.toml to take bindings, assets, migrations and compatibility settings from. */
  configPath: string;
  /** The bundle `wrangler deploy --dry-run --outdir` wrote (index.js). */
  scriptPath: string;
  port: number;
  /** Persistence root (D1 and Durable Object SQLite files go under `<persistTo>/v3`). */
  persistTo: string;
  /** Vars and secrets, as text bindings (as `wrangler secret put` would set them). */
  bindings: Record<string, string>;
  /** bench/cpu-profile.ts only: the V8 inspector on this port (never in a measured column). */
  inspectorPort?: number;
  /**
   * Serve `port` on a direct socket to the Worker (through its static-asset router when it has
   * assets, as on Cloudflare), past Miniflare's entry Worker, which then listens on a spare port.
   * The entry Worker is Miniflare's stand-in for Cloudflare's front line: it copies each request,
   * adds `CF-Connecting-IP` and the `cf` object, and re-encodes compressible responses (gzip) —
   * work Cloudflare's own machines do in production, never the Worker's isolate. Measured: about
   * 0.4 ms of workerd CPU and 0.6 ms of latency per request (docs/performance.md, "The columns").
   */
  direct?: boolean;
}

const config = JSON.parse(process.argv[2]!) as HostConfig;
const { workerOptions } = unstable_getMiniflareWorkerOptions(config.configPath);
const { modulesRules: _rules, ...rest } = workerOptions as typeof workerOptions & { modulesRules?: unknown };

// Wrangler builds the same (v4-shaped) options and converts them the same way.
const mf = new Miniflare(
  convertV4MiniflareOptions({
  host: '127.0.0.1',
  port: config.direct ? 0 : config.port,
  resourcePersistencePath: `${config.persistTo}/v3`,
  log: new Log(LogLevel.WARN), // the Worker's errors still reach our output; no info lines
  handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
    if (level === 'error' || level === 'warn') process.stderr.write(`${level}: ${message}\n`);
  },
  // What wrangler dev turns on and production does not have:
  logRequests: false, // no per-request log line sent back to Node
  unsafeObservability: false, // no local trace collector on the user Worker
  unsafeLocalExplorer: false, // no local explorer Worker
  unsafeInspectDurableObjects: false, // no DO inspection hooks
  // no inspectorPort: no V8 inspector attached (except for bench/cpu-profile.ts)
  ...(config.inspectorPort ? { inspectorPort: config.inspectorPort } : {}),
  workers: [
    {
      ...rest,
      // The bundle lives under the project's .wrangler/: workerd resolves it from this root.
      rootPath: process.cwd(),
      name: 'bench-runtime',
      modules: true,
      scriptPath: config.scriptPath,
      bindings: { ...(rest.bindings ?? {}), ...config.bindings },
      ...(config.direct ? { unsafeDirectSockets: [{ host: '127.0.0.1', port: config.port }] } : {}),
    },
  ],
  }),
);

await mf.ready;
process.stdout.write(`ready http://localhost:${config.port}\n`);

const shutdown = async () => {
  await mf.dispose().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
