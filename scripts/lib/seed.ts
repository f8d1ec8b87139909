import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrangler } from './server.ts';

/** The demo relying service's public client (src/demo/routes.ts). */
export const DEMO_CLIENT = { clientId: 'demo', name: 'Demo relying service' } as const;
/** The second demo service (`/demo/second`): shows single sign-on and logout across services. */
export const SECOND_DEMO_CLIENT = { clientId: 'demo-2', name: 'Second demo service' } as const;

/** The console's public client (src/console/session.ts), seeded beside the demo's. */
export const CONSOLE_CLIENT = { clientId: 'console', name: 'Operator console' } as const;
/** The person's account's public client (src/account/session.ts), seeded like the console's. */
export const ACCOUNT_CLIENT = { clientId: 'account', name: 'Můj účet' } as const;

/** A SQL string literal. */
function sql(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Registers the demo public clients `demo` (at `${server}/demo`) and `demo-2` (at
 * `${server}/demo/second`), the console's public client `console` (`${server}/console/callback`)
 * and the account's `account` (`${server}/account/callback`),
 * directly in the local D1 (no operator API needed): created only if absent; when the server
 * runs on another port than before, that port's redirect and post-logout URIs are added; the
 * back- and front-channel logout URIs follow the latest port.
 * @param persistTo the wrangler persistence folder the server uses.
 */
export async function seedDemoClient(server: string, persistTo = '.wrangler/state'): Promise<void> {
  const statements = [
    [DEMO_CLIENT, `${server}/demo`],
    [SECOND_DEMO_CLIENT, `${server}/demo/second`],
  ]
    .map(([client, base]) => {
      const { clientId, name } = client as { clientId: string; name: string };
      const id = sql(clientId);
      const add = (column: string, uri: string) => `
UPDATE clients SET ${column} = json_insert(${column}, '$[#]', ${sql(uri)})
  WHERE client_id = ${id} AND NOT EXISTS (SELECT 1 FROM json_each(clients.${column}) WHERE value = ${sql(uri)});`;
      return `
INSERT INTO clients (client_id, name, secret_hash, redirect_uris, id_token_alg, created_at)
  VALUES (${id}, ${sql(name)}, NULL, json_array(), 'RS256', ${Date.now()})
  ON CONFLICT(client_id) DO NOTHING;${add('redirect_uris', `${base}/callback`)}${add('post_logout_redirect_uris', `${base}/logged-out`)}
UPDATE clients SET backchannel_logout_uri = ${sql(`${base}/backchannel-logout`)}, frontchannel_logout_uri = ${sql(`${base}/frontchannel-logout`)}
  WHERE client_id = ${id};`;
    })
    .join('\n') + `\n${firstPartyClientSql(server, CONSOLE_CLIENT, '/console/callback')}\n${firstPartyClientSql(server, ACCOUNT_CLIENT, '/account/callback')}`;
  const dir = mkdtempSync(join(tmpdir(), 'mobile-key-seed-'));
  try {
    const file = join(dir, 'seed.sql');
    writeFileSync(file, statements);
    await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--file', file], { quiet: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A first-party client (console, account) with redirect_uri `${server}${path}` (added for a new port, like the demo's). */
function firstPartyClientSql(server: string, client: { clientId: string; name: string }, path: string): string {
  const redirectUri = `${server}${path}`;
  return `
INSERT INTO clients (client_id, name, secret_hash, redirect_uris, id_token_alg, created_at)
  VALUES (${sql(client.clientId)}, ${sql(client.name)}, NULL, json_array(${sql(redirectUri)}), 'RS256', ${Date.now()})
  ON CONFLICT(client_id) DO NOTHING;
UPDATE clients SET redirect_uris = json_insert(redirect_uris, '$[#]', ${sql(redirectUri)})
  WHERE client_id = ${sql(client.clientId)}
    AND NOT EXISTS (SELECT 1 FROM json_each(clients.redirect_uris) WHERE value = ${sql(redirectUri)});
`;
}

/**
 * Seeds the demo data for `npm start`: the demo client, and the demo identity with a fresh
 * activation code.
 * @param persistTo the server's persistence folder (default `.wrangler/state`, as `npm start` uses).
 */
export async function seedDemo(server: string, adminToken: string, persistTo = '.wrangler/state'): Promise<string[]> {
  await seedDemoClient(server, persistTo);
  return [
    `Health: ${server}/healthz`,
    `Demo relying service: ${server}/demo  (public client "${DEMO_CLIENT.clientId}", redirect_uri ${server}/demo/callback)`,
    `Second demo service:  ${server}/demo/second  (public client "${SECOND_DEMO_CLIENT.clientId}": single sign-on and logout across both)`,
    `OpenID Provider metadata: ${server}/.well-known/openid-configuration`,
    `Operator console: ${server}/console  (the demo identity below is its admin)`,
    `Your account:     ${server}/account  (keys, login history, consents)`,
    ...(await seedDemoIdentity(server, adminToken)),
  ];
}

/** The demo person's e-mail: the fixed key by which a restart finds her again. */
export const DEMO_EMAIL = 'jana.novakova@example.cz';

/**
 * Makes sure the demo identity "Jana Nováková" exists (created once, found again by e-mail) and
 * issues her a fresh activation code on every start (older unused codes stop working).
 * @returns lines with the code, the activation link and the exact key CLI command.
 * @throws {Error} when the operator API refuses.
 */
export async function seedDemoIdentity(server: string, adminToken: string): Promise<string[]> {
  const api = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
    const res = await fetch(`${server}${path}`, {
      method,
      headers: { Authorization: `Bearer ${adminToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path} failed: ${res.status} ${String(json.detail ?? json.title)}`);
    return json;
  };
  const found = (await api('GET', `/admin/identities?email=${encodeURIComponent(DEMO_EMAIL)}`)).identities as { sub: string }[];
  const issued = found[0]
    ? await api('POST', `/admin/identities/${found[0].sub}/activation-codes`)
    : await api('POST', '/admin/identities', {
        given_name: 'Jana',
        family_name: 'Nováková',
        birthdate: '1985-03-14',
        email: DEMO_EMAIL,
        phone_number: '+420601123456',
        address: { street_address: 'Náměstí Svobody 1', locality: 'Brno', postal_code: '602 00', country: 'CZ' },
      });
  // The demo person is the console's admin, so a newcomer can log in to /console with her key.
  await api('PUT', `/admin/operators/${String(issued.sub)}`, { role: 'admin' });
  return [
    '',
    `Demo identity: Jana Nováková (${String(issued.sub)}), admin of the console`,
    `  Activation code: ${String(issued.activation_code)}   (valid until ${new Date(issued.expires_at as number).toISOString()})`,
    `  Activation link: ${String(issued.activation_url)}`,
    '  Enrol the reference mobile key (the CLI) with it:',
    `    npm run -s key -- enroll --activation-code ${String(issued.activation_code)} --server ${server}`,
    '  (add --force to replace a key already in ~/.mobile-key.json, or --store FILE to keep it elsewhere)',
  ];
}
