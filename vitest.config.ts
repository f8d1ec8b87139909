import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { generateSecrets } from './scripts/lib/secrets.ts';

// Two projects: `worker` runs inside workerd (the Worker, the Durable Object, D1);
// `e2e` runs in Node against a real `wrangler dev` (CLIs, browser tests).
export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations');
  // Fresh ID token signing keys (RS256 and ES256) for each run, as `npm start` makes for .dev.vars.
  const { SIGNING_KEYS, VAPID_KEYS } = await generateSecrets();
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: 'test-admin-token',
                  LOGIN_VALIDITY_SECONDS: '180',
                  SIGNING_KEYS,
                  PAIRWISE_SECRET: 'test-pairwise-secret-0123456789abcdef0123456789',
                  VAPID_KEYS,
                },
              },
            }),
          ],
          test: {
            name: 'worker',
            // One workerd runtime for all files instead of a new one per file (~1.5 s each): files
            // make their own data, and the setup file resets what the isolate caches. WORKER_ISOLATE=1
            // gives each file its own runtime again (to tell a leak between files from a bug).
            isolate: process.env.WORKER_ISOLATE === '1',
            include: ['test/worker/**/*.test.ts'],
            setupFiles: ['./test/worker/apply-migrations.ts'],
          },
        },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 180_000,
            fileParallelism: false,
            // One `wrangler dev` shared by the files that only log in against it (sharedTestServer).
            globalSetup: ['./test/e2e/shared-server.ts'],
          },
        },
      ],
    },
  };
});
