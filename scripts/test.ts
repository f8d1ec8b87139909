/**
 * `npm test`: builds the client (the Worker serves it as static assets), type-checks, then runs
 * every test: the `worker` project inside workerd, the `e2e` project against `wrangler dev`.
 */
import { spawnSync } from 'node:child_process';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } });
  if (result.status !== 0) {
    console.error(`\n${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status ?? 1);
  }
}

run('node_modules/.bin/vite', ['build', '--logLevel', 'warn']);
run('node_modules/.bin/tsc', ['--noEmit']);
run('node_modules/.bin/vitest', ['run', ...process.argv.slice(2)]);
