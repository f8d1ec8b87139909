/**
 * Demo data for `npm start`: registered through the operator API so it follows the same rules
 * as anything an operator creates. Idempotent across restarts.
 * @returns lines to print for the person who started the service.
 */
export async function seedDemo(server: string, adminToken: string): Promise<string[]> {
  return [`Health: ${server}/healthz`, ...(await seedDemoIdentity(server, adminToken))];
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
  const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
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
  return [
    '',
    `Demo identity: Jana Nováková (${String(issued.sub)})`,
    `  Activation code: ${String(issued.activation_code)}   (valid until ${new Date(issued.expires_at as number).toISOString()})`,
    `  Activation link: ${String(issued.activation_url)}`,
    '  Enrol the reference mobile key (the CLI) with it:',
    `    npm run -s key -- enroll --activation-code ${String(issued.activation_code)} --server ${server}`,
    '  (add --force to replace a key already in ~/.mobile-key.json, or --store FILE to keep it elsewhere)',
  ];
}
