/**
 * Demo data for `npm start`. Idempotent across restarts.
 * @returns lines to print for the person who started the service.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrangler } from './server.ts';

/** The demo relying service's public client (src/demo/routes.ts). */
export const DEMO_CLIENT = { clientId: 'demo', name: 'Demo relying service' } as const;

/** A SQL string literal. */
function sql(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Registers the demo public client `demo` with redirect_uri `${server}/demo/callback` directly in
 * the local D1 (no operator API needed): created only if absent; when the server runs on another
 * port than before, that port's redirect_uri is added to the existing client.
 * @param persistTo the wrangler persistence folder the server uses.
 */
export async function seedDemoClient(server: string, persistTo = '.wrangler/state'): Promise<void> {
  const redirectUri = `${server}/demo/callback`;
  const statements = `
INSERT INTO clients (client_id, name, secret_hash, redirect_uris, id_token_alg, created_at)
  VALUES (${sql(DEMO_CLIENT.clientId)}, ${sql(DEMO_CLIENT.name)}, NULL, json_array(${sql(redirectUri)}), 'RS256', ${Date.now()})
  ON CONFLICT(client_id) DO NOTHING;
UPDATE clients SET redirect_uris = json_insert(redirect_uris, '$[#]', ${sql(redirectUri)})
  WHERE client_id = ${sql(DEMO_CLIENT.clientId)}
    AND NOT EXISTS (SELECT 1 FROM json_each(clients.redirect_uris) WHERE value = ${sql(redirectUri)});
`;
  const dir = mkdtempSync(join(tmpdir(), 'mobile-key-seed-'));
  try {
    const file = join(dir, 'seed.sql');
    writeFileSync(file, statements);
    await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--file', file], { quiet: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Seeds the demo data for `npm start`.
 * @param persistTo the server's persistence folder (default `.wrangler/state`, as `npm start` uses).
 */
export async function seedDemo(server: string, _adminToken: string, persistTo = '.wrangler/state'): Promise<string[]> {
  await seedDemoClient(server, persistTo);
  return [
    `Health: ${server}/healthz`,
    `Demo relying service: ${server}/demo  (public client "${DEMO_CLIENT.clientId}", redirect_uri ${server}/demo/callback)`,
    `OpenID Provider metadata: ${server}/.well-known/openid-configuration`,
  ];
}
