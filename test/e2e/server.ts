import { generateSecrets } from '../../scripts/lib/secrets.ts';
import { startServer, type RunningServer, type StartOptions } from '../../scripts/lib/server.ts';

/**
 * Starts a throwaway local server for one test file: fresh secrets, a free port, a fresh
 * persistence folder. Stop it in `afterAll`.
 */
export async function startTestServer(options: Partial<StartOptions> = {}): Promise<RunningServer> {
  return startServer({ secrets: options.secrets ?? (await generateSecrets()), ...options });
}

export type { RunningServer };
