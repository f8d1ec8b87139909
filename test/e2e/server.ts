import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { generateSecrets } from '../../scripts/lib/secrets.ts';
import { startServer, type RunningServer, type StartOptions } from '../../scripts/lib/server.ts';

/**
 * A fresh persistence folder holding a copy of the e2e run's migrated database
 * (test/e2e/shared-server.ts migrates it once), so a new server skips the ~8 s of
 * `wrangler d1 migrations apply` on an empty folder. Undefined outside the e2e project.
 */
export function copyOfMigratedTemplate(): string | undefined {
  const template = inject('persistTemplate');
  if (!template) return undefined;
  const persistTo = mkdtempSync(join(tmpdir(), 'mobile-key-'));
  cpSync(template, persistTo, { recursive: true });
  return persistTo;
}

/**
 * Starts a throwaway local server for one test file: fresh secrets, a free port, a fresh
 * persistence folder (a copy of the migrated template when none is given). Stop it in
 * `afterAll`. For files that restart it, need other vars or test the start itself; the others
 * use {@link sharedTestServer}.
 */
export async function startTestServer(options: Partial<StartOptions> = {}): Promise<RunningServer> {
  const secrets = options.secrets ?? (await generateSecrets());
  const copy = options.persistTo ? undefined : copyOfMigratedTemplate();
  return startServer({ secrets, ...options, ...(copy ? { persistTo: copy, migrate: false } : {}) });
}

/**
 * The e2e project's one shared server (test/e2e/shared-server.ts, the project's `globalSetup`):
 * default vars, the demo clients already seeded, shared with the other e2e files that use it,
 * so a test makes its own identities, keys and clients and never counts rows it did not make.
 * `stop()` does nothing (the global teardown stops it); `output()` is in
 * test-results/e2e-shared-server.log after the run.
 * @throws {Error} outside the e2e project (nothing provided the server).
 */
export function sharedTestServer(): RunningServer {
  const shared = inject('sharedServer');
  if (!shared) throw new Error('no shared e2e server: run this file in the e2e project (vitest --project e2e)');
  return {
    ...shared,
    output: () => 'the shared server: see test-results/e2e-shared-server.log after the run',
    stop: async () => {},
  };
}

export type { RunningServer };
