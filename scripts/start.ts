/**
 * `npm start`: first-run work, then the service on http://localhost:8787 with demo data.
 * Creates `.dev.vars` with generated secrets when missing, builds the client, applies the local
 * D1 migrations, starts `wrangler dev` (persisting to .wrangler/state) and seeds the demo data.
 * Ctrl-C stops the server and its workerd.
 */
import { spawnSync } from 'node:child_process';
import { ensureDevVars } from './lib/secrets.ts';
import { startServer } from './lib/server.ts';
import { seedDemo } from './lib/seed.ts';

const port = Number(process.env.PORT ?? 8787);

const { secrets, written } = await ensureDevVars();
if (written) console.error('Wrote .dev.vars with fresh secrets (ADMIN_TOKEN, signing keys, PAIRWISE_SECRET, VAPID_KEYS) where it had none.');

console.error('Building the client…');
const build = spawnSync('node_modules/.bin/vite', ['build', '--logLevel', 'warn'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

console.error('Starting the local server…');
const server = await startServer({ secrets, port, persistTo: '.wrangler/state', inherit: true });
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const lines = await seedDemo(server.url, secrets.ADMIN_TOKEN);
console.log(`\nMobile Key login is running at ${server.url}\n${lines.join('\n')}\nPress Ctrl-C to stop.`);
