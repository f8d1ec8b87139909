/**
 * The operator CLI: `npm run -s admin -- <command> [--server URL] [--json]`.
 * Talks to the operator API (`/admin`, src/identity/admin.ts) with the bearer token from
 * `ADMIN_TOKEN` or the local `.dev.vars`. Run `npm run -s admin -- help` for the commands.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDotenv } from '../scripts/lib/secrets.ts';
import { CliError, DEFAULT_SERVER, formatTime, runCli, secureServerUrl, usage } from './lib/common.ts';

const HELP = `Usage: npm run -s admin -- <command> [options]

Commands:
  identity create --given-name G --family-name F [--birthdate YYYY-MM-DD] [--email E] [--phone-number P]
                                     create an identity and print its first activation code
  identity activation-code SUB       issue a new activation code (older unused codes stop working)
  identity show SUB                  show an identity's claims
  client create --name NAME --redirect-uri URI [--redirect-uri URI ...] [--public] [--id-token-alg RS256|ES256]
                [--subject-type public|pairwise]
                [--post-logout-redirect-uri URI ...] [--backchannel-logout-uri URI] [--frontchannel-logout-uri URI]
                [--grant-type refresh_token] [--require-number-matching]
                                     register a relying service (prints its client_id and secret);
                                     --grant-type refresh_token allows refresh tokens (offline_access);
                                     pairwise: its own sub per person, redirect URIs on one host
  client update CLIENT_ID [--name NAME] [--redirect-uri URI ...] [--id-token-alg RS256|ES256] [--post-logout-redirect-uri URI ...]
                [--backchannel-logout-uri URI] [--frontchannel-logout-uri URI] [--grant-type TYPE ...]
                [--require-number-matching | --no-require-number-matching]
                                     change a relying service; a repeated option replaces the whole
                                     list; an empty value ("") clears a logout URI or the list;
                                     authorization_code is always among the grant types
  --require-number-matching: the login page shows a number the phone must pick from three
  client subject CLIENT_ID SUB       the identity behind a sub this service was given (pairwise or not)
                                     (a pairwise sub may start with "-": put it after "--", options before)
  identity subject SUB CLIENT_ID     the sub this service sees for the identity
  devices SUB                        list an identity's devices
  device revoke DEVICE_ID            revoke a device (idempotent)
  audit SUB                          an identity's audit events, newest first
  operator grant SUB --role clerk|admin
                                     let an identity log in to the console (/console) with this role
  operator revoke SUB                take the role away (ends its console sessions)
  operator list                      every operator and role

Options:
  --server URL   the service (default ${DEFAULT_SERVER}); https, or plain http on loopback only
  --json         print exactly one JSON object on stdout
  The token is read from ADMIN_TOKEN, else from ./.dev.vars.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    server: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    'given-name': { type: 'string' },
    'family-name': { type: 'string' },
    birthdate: { type: 'string' },
    email: { type: 'string' },
    'phone-number': { type: 'string' },
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    public: { type: 'boolean' },
    'id-token-alg': { type: 'string' },
    'subject-type': { type: 'string' },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'backchannel-logout-uri': { type: 'string' },
    'frontchannel-logout-uri': { type: 'string' },
    'grant-type': { type: 'string', multiple: true },
    role: { type: 'string' },
    'require-number-matching': { type: 'boolean' },
    'no-require-number-matching': { type: 'boolean' },
  },
});

const json = values.json === true;

await runCli('admin', json, async () => {
  const [group, action, arg, arg2] = positionals;
  if (values.help || !group || group === 'help') return { json: { help: HELP }, text: HELP };
  const known = new Set(['server', 'json', 'help', 'given-name', 'family-name', 'birthdate', 'email', 'phone-number', 'name', 'redirect-uri', 'public', 'id-token-alg', 'subject-type', 'role', 'h',
    'post-logout-redirect-uri', 'backchannel-logout-uri', 'frontchannel-logout-uri', 'grant-type', 'require-number-matching', 'no-require-number-matching']);
  for (const key of Object.keys(values)) if (!known.has(key)) throw usage(`unknown option --${key}\n\n${HELP}`);
  const api = client(secureServerUrl(str('server') ?? DEFAULT_SERVER));

  if (group === 'identity' && action === 'create') {
    const body: Record<string, string> = {
      given_name: required('given-name'),
      family_name: required('family-name'),
    };
    for (const [flag, claim] of [['birthdate', 'birthdate'], ['email', 'email'], ['phone-number', 'phone_number']] as const) {
      const value = str(flag);
      if (value !== undefined) body[claim] = value;
    }
    const created = await api('POST', '/admin/identities', body);
    return {
      json: { sub: created.sub, activation_code: created.activation_code, expires_at: created.expires_at, activation_url: created.activation_url },
      text: `Created identity ${created.sub}\n${codeText(created)}`,
    };
  }
  if (group === 'identity' && action === 'activation-code') {
    const sub = positional(arg, 'SUB');
    const issued = await api('POST', `/admin/identities/${encodeURIComponent(sub)}/activation-codes`);
    return {
      json: { activation_code: issued.activation_code, expires_at: issued.expires_at, activation_url: issued.activation_url, sub },
      text: `New activation code for ${sub} (older unused codes no longer work)\n${codeText(issued)}`,
    };
  }
  if (group === 'identity' && action === 'show') {
    const identity = await api('GET', `/admin/identities/${encodeURIComponent(positional(arg, 'SUB'))}`);
    return { json: identity, text: `${identity.sub} (created ${formatTime(identity.created_at as number)})\n${JSON.stringify(identity.claims, null, 2)}` };
  }
  if (group === 'client' && action === 'create') {
    const redirectUris = values['redirect-uri'];
    if (!Array.isArray(redirectUris) || redirectUris.length === 0) throw usage('client create needs at least one --redirect-uri URI');
    const alg = str('id-token-alg');
    const subjectType = str('subject-type');
    if (subjectType !== undefined && subjectType !== 'public' && subjectType !== 'pairwise') throw usage('--subject-type must be public or pairwise');
    const created = await api('POST', '/admin/clients', {
      name: required('name'),
      redirect_uris: redirectUris,
      public: values.public === true,
      ...(alg ? { id_token_alg: alg } : {}),
      ...numberMatchingOption(),
      ...(subjectType ? { subject_type: subjectType } : {}),
      ...logoutOptions(),
      ...grantTypeOption(),
    });
    const out: Record<string, unknown> = { client_id: created.client_id };
    if (created.client_secret) out.client_secret = created.client_secret;
    return {
      json: out,
      text: [
        `Registered ${created.public ? 'public' : 'confidential'} client "${created.name}"`,
        `client_id:     ${created.client_id}`,
        created.client_secret ? `client_secret: ${created.client_secret}   (shown once; store it now)` : 'no secret: the client must use PKCE',
        ...registrationLines(created),
      ].join('\n'),
    };
  }
  if (group === 'client' && action === 'update') {
    const clientId = positional(arg, 'CLIENT_ID');
    const redirectUris = values['redirect-uri'];
    const name = str('name');
    const alg = str('id-token-alg');
    const patch: Record<string, unknown> = {
      ...(name !== undefined ? { name } : {}),
      ...(alg !== undefined ? { id_token_alg: alg } : {}),
      ...(Array.isArray(redirectUris) ? { redirect_uris: redirectUris } : {}),
      ...numberMatchingOption(),
      ...logoutOptions(),
      ...grantTypeOption(),
    };
    if (Object.keys(patch).length === 0) throw usage('client update needs at least one option to change');
    const updated = await api('PATCH', `/admin/clients/${encodeURIComponent(clientId)}`, patch);
    return { json: updated, text: [`Updated client "${updated.name}" (${updated.client_id})`, ...registrationLines(updated)].join('\n') };
  }
  if (group === 'client' && action === 'subject') {
    const clientId = positional(arg, 'CLIENT_ID');
    const found = await api('GET', `/admin/clients/${encodeURIComponent(clientId)}/subjects/${encodeURIComponent(positional(arg2, 'SUB'))}`);
    return { json: found, text: `${found.sub} at ${found.client_id} (${found.subject_type}) is identity ${found.identity_sub}` };
  }
  if (group === 'identity' && action === 'subject') {
    const sub = positional(arg, 'SUB');
    const seen = await api('GET', `/admin/identities/${encodeURIComponent(sub)}/subjects/${encodeURIComponent(positional(arg2, 'CLIENT_ID'))}`);
    return { json: seen, text: `${seen.client_id} (${seen.subject_type}) knows ${seen.sub} as ${seen.client_sub}` };
  }
  if (group === 'devices') {
    const listed = await api('GET', `/admin/identities/${encodeURIComponent(positional(action, 'SUB'))}/devices`);
    const devices = listed.devices as Record<string, unknown>[];
    const lines = devices.map((d) =>
      [
        d.device_id,
        JSON.stringify(d.name),
        // The server keeps only parsed, validated text; JSON quoting shows anything else escaped.
        [d.browser, d.os].filter((x) => typeof x === 'string').map((x) => JSON.stringify(x)).join(' on ') || 'platform unknown',
        `enrolled ${formatTime(d.created_at as number)}`,
        d.last_used_at ? `last used ${formatTime(d.last_used_at as number)}` : 'never used',
        d.revoked_at ? `REVOKED ${formatTime(d.revoked_at as number)}` : 'active',
      ].join('  '),
    );
    return { json: listed, text: devices.length ? lines.join('\n') : `No devices enrolled for ${listed.sub}.` };
  }
  if (group === 'device' && action === 'revoke') {
    const device = await api('POST', `/admin/devices/${encodeURIComponent(positional(arg, 'DEVICE_ID'))}/revoke`);
    return { json: device, text: `Revoked ${device.device_id} ("${device.name}") of ${device.sub} at ${formatTime(device.revoked_at as number)}` };
  }
  if (group === 'audit') {
    const audit = await api('GET', `/admin/identities/${encodeURIComponent(positional(action, 'SUB'))}/audit`);
    const events = audit.events as Record<string, unknown>[];
    return {
      json: audit,
      text: events.map((e) => [formatTime(e.at as number), e.type, e.device_id ?? '', e.client_id ?? ''].join('  ').trim()).join('\n') || 'No events.',
    };
  }
  if (group === 'operator' && action === 'grant') {
    const role = required('role');
    if (role !== 'clerk' && role !== 'admin') throw usage('--role must be clerk or admin');
    const granted = await api('PUT', `/admin/operators/${encodeURIComponent(positional(arg, 'SUB'))}`, { role });
    return { json: granted, text: `${granted.sub} is now ${granted.role === 'admin' ? 'an admin' : 'a clerk'} of the console` };
  }
  if (group === 'operator' && action === 'revoke') {
    const revoked = await api('DELETE', `/admin/operators/${encodeURIComponent(positional(arg, 'SUB'))}`);
    return { json: revoked, text: `${revoked.sub} is no longer an operator` };
  }
  if (group === 'operator' && action === 'list') {
    const listed = await api('GET', '/admin/operators');
    const operators = listed.operators as Record<string, unknown>[];
    return { json: listed, text: operators.map((o) => `${o.sub}  ${o.role}  since ${formatTime(o.granted_at as number)}`).join('\n') || 'No operators.' };
  }
  throw usage(`unknown command "${positionals.join(' ')}"\n\n${HELP}`);
});

function str(name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw usage(`--${name} needs a value`);
  return value;
}

function required(name: string): string {
  const value = str(name);
  if (!value) throw usage(`--${name} is required`);
  return value;
}

/** The logout registration options as API members; "" clears (null, or an empty list). */
function logoutOptions(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const postLogout = values['post-logout-redirect-uri'];
  if (Array.isArray(postLogout)) out.post_logout_redirect_uris = postLogout.filter((uri) => uri !== '');
  for (const [flag, member] of [['backchannel-logout-uri', 'backchannel_logout_uri'], ['frontchannel-logout-uri', 'frontchannel_logout_uri']] as const) {
    const value = str(flag);
    if (value !== undefined) out[member] = value === '' ? null : value;
  }
  return out;
}

/**
 * `--grant-type` as the API's `grant_types`: authorization_code first (always required), then the
 * values given ("" alone: authorization_code only). The server validates the values.
 */
function grantTypeOption(): Record<string, unknown> {
  const given = values['grant-type'];
  if (!Array.isArray(given)) return {};
  const types = given.filter((type): type is string => typeof type === 'string' && type !== '' && type !== 'authorization_code');
  return { grant_types: ['authorization_code', ...new Set(types)] };
}

/** `--require-number-matching` / `--no-require-number-matching` as the API member (absent: unchanged). */
function numberMatchingOption(): { require_number_matching?: boolean } {
  const on = values['require-number-matching'] === true;
  const off = values['no-require-number-matching'] === true;
  if (on && off) throw usage('give either --require-number-matching or --no-require-number-matching');
  return on ? { require_number_matching: true } : off ? { require_number_matching: false } : {};
}

/** A client's URIs, one line each. */
function registrationLines(client: Record<string, unknown>): string[] {
  const list = (value: unknown) => ((value as string[] | undefined)?.length ? (value as string[]).join(', ') : '(none)');
  return [
    `subject type:  ${String(client.subject_type ?? 'public')}${client.sector_identifier ? ` (sector ${String(client.sector_identifier)})` : ''}`,
    `redirect URIs: ${list(client.redirect_uris)}`,
    `post-logout redirect URIs: ${list(client.post_logout_redirect_uris)}`,
    `back-channel logout URI:   ${String(client.backchannel_logout_uri ?? '(none)')}`,
    `front-channel logout URI:  ${String(client.frontchannel_logout_uri ?? '(none)')}`,
    `grant types:               ${list(client.grant_types)}`,
    `number matching:           ${client.require_number_matching === true ? 'required' : 'off'}`,
  ];
}

function positional(value: string | undefined, name: string): string {
  if (!value) throw usage(`missing ${name}`);
  return value;
}

function codeText(issued: Record<string, unknown>): string {
  return [
    `Activation code: ${issued.activation_code}   (valid until ${formatTime(issued.expires_at as number)})`,
    `Activation link: ${issued.activation_url}`,
  ].join('\n');
}

/** The operator token: `ADMIN_TOKEN`, else `.dev.vars` in the working directory. */
function adminToken(): string {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  if (existsSync('.dev.vars')) {
    const token = parseDotenv(readFileSync('.dev.vars', 'utf8')).ADMIN_TOKEN;
    if (token) return token;
  }
  throw new CliError('no-token', 'no operator token: set ADMIN_TOKEN or run from the project folder with a .dev.vars (npm start creates it)', 2);
}

/** A small client of the operator API; refusals become CliErrors with the problem's code. */
function client(server: string) {
  const token = adminToken();
  return async (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(`${server}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new CliError('unreachable', `cannot reach ${server}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new CliError('bad-response', `unexpected response from ${server} (HTTP ${res.status})`);
    }
    if (!res.ok) {
      const code = typeof parsed.type === 'string' ? parsed.type.replace('urn:mobile-key:problem:', '') : 'error';
      const detail = typeof parsed.detail === 'string' ? parsed.detail : String(parsed.title ?? `HTTP ${res.status}`);
      throw new CliError(code, code === 'unauthorized' ? `the server refused the operator token: ${detail}` : detail);
    }
    return parsed;
  };
}
