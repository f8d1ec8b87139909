/**
 * Vitest `globalSetup` of the `e2e` project: one `wrangler dev` for every e2e file that only
 * needs a server to log in against (fresh secrets, a free port, a fresh persistence folder, the
 * demo clients seeded), started once instead of once per file. Its address, persistence folder
 * and secrets reach the files through `provide('sharedServer', …)`; a file takes them with
 * `sharedTestServer()` (test/e2e/server.ts). Files that restart a server, need other vars
 * (a short login validity) or test the start itself keep their own `startTestServer()`.
 *
 * Tests on the shared server must not depend on each other's data: each makes its own
 * identities, keys and clients, reads lists only filtered by those, and leaves the seeded demo,
 * console and account clients as seeded (app-where.test.ts turns number matching on for the demo
 * service, so it has its own server). Files run one after another (`fileParallelism: false`).
 * Everything the server printed is written to test-results/e2e-shared-server.log at the end.
 *
 * It also migrates one empty database (`persistTemplate`): startTestServer() copies it into each
 * fresh persistence folder instead of running the migrations again (~8 s per server).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { generateSecrets, type LocalSecrets } from '../../scripts/lib/secrets.ts';
import { seedDemoClient } from '../../scripts/lib/seed.ts';
import { migrateLocal, startServer } from '../../scripts/lib/server.ts';

/** What `sharedTestServer()` gets: enough to rebuild a `RunningServer` without its process. */
export interface SharedServerInfo {
  url: string;
  port: number;
  persistTo: string;
  secrets: LocalSecrets;
  pgid: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    sharedServer: SharedServerInfo;
    /** A persistence folder with the migrated, empty database, copied by startTestServer(). */
    persistTemplate: string;
  }
}

const LOG = new URL('../../test-results/e2e-shared-server.log', import.meta.url).pathname;

/**
 * Migrates the template, starts the shared server from a copy of it and seeds the demo clients,
 * then provides both to the project's files.
 * @returns the teardown: stops the server, removes the template, writes the server's output.
 * @throws {Error} when the migrations, the server or the seeding fail (the e2e files do not run).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Migrate an empty database once; every fresh server of this run starts from a copy of it.
  const template = mkdtempSync(join(tmpdir(), 'mobile-key-template-'));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await migrateLocal(template);
    const persistTo = mkdtempSync(join(tmpdir(), 'mobile-key-'));
    cpSync(template, persistTo, { recursive: true });
    server = await startServer({ secrets: await generateSecrets(), persistTo, migrate: false });
    await seedDemoClient(server.url, server.persistTo);
  } catch (error) {
    await server?.stop();
    rmSync(template, { recursive: true, force: true });
    throw error;
  }
  project.provide('persistTemplate', template);
  project.provide('sharedServer', {
    url: server.url,
    port: server.port,
    persistTo: server.persistTo,
    secrets: server.secrets,
    pgid: server.pgid,
  });
  return async () => {
    await server.stop();
    rmSync(template, { recursive: true, force: true });
    mkdirSync(dirname(LOG), { recursive: true });
    writeFileSync(LOG, server.output());
  };
}
