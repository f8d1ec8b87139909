import { inject } from 'vitest';
import { generateSecrets } from '../../scripts/lib/secrets.ts';
import { startServer, type RunningServer, type StartOptions } from '../../scripts/lib/server.ts';

/**
 * Starts a throwaway local server for one test file: fresh secrets, a free port, a fresh
 * persistence folder. Stop it in `afterAll`. For files that restart it, need other vars or test
 * the start itself; the others use {@link sharedTestServer}.
 */
export async function startTestServer(options: Partial<StartOptions> = {}): Promise<RunningServer> {
  return startServer({ secrets: options.secrets ?? (await generateSecrets()), ...options });
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
