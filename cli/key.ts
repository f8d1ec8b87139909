/**
 * The reference mobile key: `npm run -s key -- <command> [--store FILE] [--server URL] [--json]`.
 * Holds a P-256 device key in a store file (mode 0600) and speaks the phone-facing API
 * (docs/mobile-protocol.md) through cli/lib/mobile-client.ts. Run with `help` for the commands.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { CliError, DEFAULT_SERVER, formatDuration, formatTime, runCli, serverUrl, usage } from './lib/common.ts';
import { safeRequester, sanitizeForTerminal } from '../src/http/names.ts';
import { decideLogin, enrol, revokeOwnDevice, type Fetch, type LoginContext } from './lib/mobile-client.ts';
import { checkWritable, defaultStorePath, deleteStore, readStore, writeStore } from './lib/store.ts';
import {
  cancelPairing,
  confirmPairing,
  joinPairing,
  listNotifications,
  markNotificationsRead,
  previewEnrolment,
  startPairing,
  waitForClaim,
  type NotificationView,
} from './lib/pairing-client.ts';
import { renderUnicodeCompact } from 'uqr';

const HELP = `Usage: npm run -s key -- <command> [options]

Commands:
  enroll --activation-code CODE [--name NAME] [--force] [--yes]
                         show whose key it becomes, ask y/n (in a terminal, unless --yes), then
                         make a device key and enrol it (CODE may also be the activation link)
  pair new [--yes]       start pairing a new key to this key's identity: print the pairing URL
                         (and its QR), wait for the new device, show its name, ask y/n, confirm
  pair PAIRING_URL [--name NAME] [--force] [--yes]
                         join a pairing as the new key: show whose key it becomes, ask y/n, make
                         a key, wait until the existing key confirms, save it to the store
  notifications [--keep-unread]
                         list this identity's security events seen by this key (logins, keys
                         added or disconnected), newest first; marks them read
  approve LOGIN_URL [--yes] [--number N] [--consent once|always]
                         read the login, show who asks, ask y/n (unless --yes), sign and approve;
                         answering "n" (the default) sends a signed deny; a service with number
                         matching asks for the number the login page shows (or takes --number N;
                         a wrong number denies the login); --consent always remembers the consent
                         to what is released for this service (default: this login only)
  deny LOGIN_URL         read the login and deny it
  show                   print the enrolled device
  revoke                 revoke this key on the server (it stops working for logins at once),
                         then delete the store file; if the server refuses, the file is kept

Options:
  --server URL   the service (default: the LOGIN_URL's or activation link's origin, else ${DEFAULT_SERVER};
                 for revoke, the server the key was enrolled with)
  --store FILE   the key store (default: $MOBILE_KEY_STORE or ~/.mobile-key.json; written with mode 0600)
  --json         print exactly one JSON object on stdout (the context goes to stderr)
LOGIN_URL is the login page's "Launch the mobile key on this device" link (<origin>/key/login#<login id>.l.<token>,
single use), or the text its QR encodes (<origin>/key/login#<login id>.r<step>.<mac>, valid for 3 seconds only).
PAIRING_URL is the text a pairing QR encodes: <origin>/key/pair#<pairing id>.<secret>`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    server: { type: 'string' },
    store: { type: 'string' },
    json: { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    'activation-code': { type: 'string' },
    name: { type: 'string' },
    number: { type: 'string' },
    'keep-unread': { type: 'boolean' },
    consent: { type: 'string' },
  },
});

const json = values.json === true;

/**
 * The key CLI's User-Agent: what it is and the OS it runs on, and nothing made up. The service
 * parses it with bowser when the key is made and shows the OS ("Linux", "macOS") as the
 * platform the key lives in; the "browser" part names no browser bowser knows, so none is shown.
 */
const OS_TOKEN: Record<string, string> = { linux: 'Linux', darwin: 'Macintosh', win32: 'Windows NT' };
const USER_AGENT = `mobile-key-cli/0.1 (Node.js${OS_TOKEN[process.platform] ? `; ${OS_TOKEN[process.platform]}` : ''})`;
const cliFetch: Fetch = (input, init) => fetch(input, { ...init, headers: { 'User-Agent': USER_AGENT, ...(init?.headers as Record<string, string> | undefined) } });

await runCli('key', json, async () => {
  const [command, arg] = positionals;
  if (values.help || !command || command === 'help') return { json: { help: HELP }, text: HELP };
  const known = new Set(['server', 'store', 'json', 'yes', 'y', 'force', 'help', 'h', 'activation-code', 'name', 'number', 'keep-unread', 'consent']);
  for (const key of Object.keys(values)) if (!known.has(key)) throw usage(`unknown option --${key}\n\n${HELP}`);
  const storePath = str('store') ?? defaultStorePath();
  const server = str('server');

  if (command === 'enroll' || command === 'enrol') {
    const input = str('activation-code');
    if (!input) throw usage('--activation-code CODE is required');
    // The activation link `<origin>/key/enrol#<code>` works too and names the server.
    const link = URL.parse(input);
    const fromLink = link && /^https?:$/.test(link.protocol) && link.hash.length > 1 ? link : null;
    const code = fromLink ? decodeURIComponent(fromLink.hash.slice(1)) : input;
    const base = serverUrl(server ?? fromLink?.origin ?? DEFAULT_SERVER);
    const force = values.force === true;
    checkWritable(storePath, force);
    const name = str('name') ?? 'Reference mobile key (CLI)';
    // Whose key it becomes, before the key is made: nobody enrols to someone else's identity unseen.
    const preview = await previewEnrolment({ server: base, activationCode: code });
    const whose = sanitizeForTerminal(preview.identity_name) || 'an identity without a name';
    process.stderr.write(`You are adding a key for ${whose}\n`);
    if (process.stdin.isTTY && values.yes !== true && !(await ask('Is that you? [y/N] '))) {
      throw new CliError('declined', 'Not enrolled: you said this is not your identity.');
    }
    const store = await enrol({ server: base, activationCode: code, name, fetch: cliFetch });
    writeStore(storePath, store, force);
    return {
      json: { device_id: store.device_id, sub: store.sub },
      text: `Enrolled "${name}" as ${store.device_id} for ${store.sub}\nKey stored in ${storePath}`,
    };
  }

  if (command === 'approve' || command === 'deny') {
    if (!arg) throw usage(`${command} needs LOGIN_URL (the text the login QR encodes)`);
    const yes = values.yes === true || command === 'deny';
    if (!yes && !process.stdin.isTTY) throw usage('not a terminal: pass --yes to approve without asking');
    const given = str('number');
    if (given !== undefined && !/^[1-9][0-9]$/.test(given)) throw usage('--number needs the two-digit number the login page shows');
    const consent = values.consent;
    if (consent !== undefined && consent !== 'once' && consent !== 'always') throw usage('--consent is once or always');
    const store = readStore(storePath);
    const result = await decideLogin({
      loginUrl: arg,
      store,
      decision: command,
      ...(consent ? { consent } : {}),
      ...(server ? { server: serverUrl(server) } : {}),
      confirm: async (context) => {
        process.stderr.write(`${describe(context)}\n`);
        if (yes) return true;
        const question = context.country_mismatch ? 'Approve anyway' : 'Approve this login';
        return ask(`${question} for ${sanitizeForTerminal(context.client.name)}? [y/N] `);
      },
      pickNumber: async (_context, choices) => {
        if (given !== undefined) {
          if (!choices.includes(Number(given))) throw usage(`--number ${given} is not one of the numbers offered (${choices.join(', ')})`);
          return Number(given);
        }
        if (!process.stdin.isTTY) throw usage('this service requires number matching: pass --number N (the number the login page shows)');
        return askNumber(choices);
      },
    });
    const out = {
      status: result.status,
      client_id: result.client_id,
      client_name: result.client_name,
      sub: result.sub,
      login_id: result.login_id,
      device_id: result.device_id,
    };
    const denied = result.reason === 'wrong-number'
      ? `Denied: that is not the number the login page shows, so the login for ${result.client_name} was denied.`
      : `Denied the login for ${result.client_name}.`;
    return {
      json: { ...out, ...(result.reason ? { reason: result.reason } : {}) },
      text: result.status === 'approved' ? `Approved: you are signing in to ${result.client_name}.` : denied,
    };
  }

  if (command === 'pair' && arg === 'new') {
    const store = readStore(storePath);
    const keyStore = server ? { ...store, server: serverUrl(server) } : store;
    const pairing = await startPairing({ store: keyStore });
    const url = pairing.snapshot.pairingUrl!;
    process.stderr.write(`${renderQr(url)}\nOn the new device, scan this QR or open:\n${url}\n(valid for ${formatDuration(pairing.snapshot.expiresAt - pairing.snapshot.now)})\n`);
    const claimed = await waitForClaim({ store: keyStore, pairing });
    if (claimed.state !== 'claimed') throw new CliError(`pairing-${claimed.state}`, `The pairing ${claimed.state === 'expired' ? 'expired' : 'ended'} before a new device joined.`);
    const device = sanitizeForTerminal(claimed.device!.name);
    const r = safeRequester(claimed.device!.requester);
    const from = [[r.browser, r.os && `on ${r.os}`].filter(Boolean).join(' '), [r.city, r.country].filter(Boolean).join(', ')].filter(Boolean).join(', ');
    process.stderr.write(`A new device wants to become a key of your identity: "${device}"${from ? ` (${from})` : ''}.\n`);
    const yes = values.yes === true || (process.stdin.isTTY && (await ask(`Add "${device}" as a key? [y/N] `)));
    if (!yes) {
      await cancelPairing({ store: keyStore, pairing });
      throw new CliError('declined', `Refused: "${device}" was not added.`);
    }
    const done = await confirmPairing({ store: keyStore, pairing, nonce: claimed.nonce! });
    return {
      json: { pairing_id: done.id, state: done.state, device_id: done.deviceId, name: claimed.device!.name },
      text: `Key "${device}" added (${done.deviceId}).`,
    };
  }

  if (command === 'pair') {
    if (!arg) throw usage('pair needs PAIRING_URL (the text the pairing QR encodes), or "new" to start one');
    const force = values.force === true;
    checkWritable(storePath, force);
    if (values.yes !== true && !process.stdin.isTTY) throw usage('not a terminal: pass --yes to join without asking');
    const name = str('name') ?? 'Reference mobile key (CLI)';
    const store = await joinPairing({
      pairingUrl: arg,
      name,
      ...(server ? { server: serverUrl(server) } : {}),
      confirm: async (identityName, expiresInMs) => {
        process.stderr.write(`You are adding a key for ${sanitizeForTerminal(identityName) || 'an identity without a name'} (${formatDuration(expiresInMs)} left)\n`);
        return values.yes === true || ask('Is that you? [y/N] ');
      },
      onWaiting: () => process.stderr.write('Waiting for your other key to confirm…\n'),
      fetch: cliFetch,
    });
    if (!store) throw new CliError('declined', 'Not paired: you said this is not your identity.');
    writeStore(storePath, store, force);
    return {
      json: { device_id: store.device_id, sub: store.sub },
      text: `Paired "${name}" as ${store.device_id} for ${store.sub}\nKey stored in ${storePath}`,
    };
  }

  if (command === 'notifications') {
    const store = readStore(storePath);
    const keyStore = server ? { ...store, server: serverUrl(server) } : store;
    const page = await listNotifications({ store: keyStore });
    const newest = page.notifications[0]?.id;
    if (newest !== undefined && values['keep-unread'] !== true) await markNotificationsRead({ store: keyStore, upTo: newest });
    const lines = page.notifications.map((n) => `${n.read ? ' ' : '*'} ${formatTime(n.at)}  ${describeNotification(n)}`);
    return {
      json: page,
      text: lines.length ? `${page.unread} unread (*)\n${lines.join('\n')}` : 'No notifications.',
    };
  }

  if (command === 'show') {
    const store = readStore(storePath);
    const out = { device_id: store.device_id, sub: store.sub, name: store.name, server: store.server, enrolled_at: store.enrolled_at };
    return { json: out, text: `${store.name}: ${store.device_id} for ${store.sub} at ${store.server} (enrolled ${formatTime(store.enrolled_at)})` };
  }

  if (command === 'revoke') {
    const store = readStore(storePath);
    const result = await revokeOwnDevice({ server: server ? serverUrl(server) : store.server, store });
    // Only once the server has revoked it: a kept file still lets the person retry.
    deleteStore(storePath, result.device_id);
    return {
      json: { device_id: result.device_id, revoked_at: result.revoked_at },
      text: `Revoked ${store.name} (${result.device_id}) at ${formatTime(result.revoked_at)}: it can no longer approve logins.\nDeleted ${storePath}`,
    };
  }

  throw usage(`unknown command "${command}"\n\n${HELP}`);
});

function str(name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw usage(`--${name} needs a value`);
  return value;
}

/** The context a person must see before approving: who asks, what is released, from where, how long. */
function describe(raw: LoginContext): string {
  // Whatever the server sent, nothing in it may move the cursor or fake a line in this terminal.
  const context = JSON.parse(JSON.stringify(raw), (_key, value: unknown) =>
    typeof value === 'string' ? sanitizeForTerminal(value) : value,
  ) as LoginContext;
  const r = safeRequester(context.requester);
  const where = [r.city, r.country && countryName(r.country)].filter(Boolean).join(', ') || 'unknown location';
  const what = [r.browser, r.os && `on ${r.os}`].filter(Boolean).join(' ') || 'unknown browser';
  const here = safeRequester({ country: context.phone_country }).country;
  const lines = [
    `Login request from ${context.client.name} (${context.client.id})`,
    `  Releases:  ${context.claims.join(', ') || 'only your identifier'}`,
    `  Browser:   ${what}, ${where}`,
    `  Started:   ${formatTime(context.created_at)} (${formatDuration(context.now - context.created_at)} ago)`,
    `  Time left: ${formatDuration(context.expires_at - context.now)}`,
  ];
  if (context.country_mismatch === true && r.country && here) {
    const warning = `WARNING: This login was started in ${countryName(r.country)}, you are in ${countryName(here)}. If someone sent you this code, deny.`;
    const rule = '!'.repeat(Math.min(warning.length, 78));
    lines.unshift(rule, warning, rule);
  }
  if (Array.isArray(context.number_choices)) {
    lines.push(`  Number matching: the login page shows one of ${context.number_choices.join(', ')}; a wrong number denies the login.`);
  }
  return lines.join('\n');
}

/** An ISO 3166-1 alpha-2 code as an English country name ("DE" → "Germany"), else the code. */
function countryName(code: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** Asks which of the numbers the login page shows; an empty answer denies (null). */
async function askNumber(choices: number[]): Promise<number | null> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const answer = (await rl.question(`Which number does the login page show? [${choices.join('/')}, Enter to deny] `)).trim();
      if (answer === '') return null;
      if (choices.includes(Number(answer))) return Number(answer);
      process.stderr.write(`Type one of ${choices.join(', ')}, or press Enter to deny.\n`);
    }
  } finally {
    rl.close();
  }
}

/** A QR for the terminal (two modules per character). */
function renderQr(text: string): string {
  return renderUnicodeCompact(text, { border: 2 });
}

/** One notification as a terminal line; every text from the server is sanitised first. */
function describeNotification(n: NotificationView): string {
  const clean = (text: unknown) => (typeof text === 'string' ? sanitizeForTerminal(text) : '');
  const r = safeRequester(n.detail.requester);
  const browser = [r.browser, r.os && `on ${r.os}`].filter(Boolean).join(' ');
  const place = [r.city, r.country].filter(Boolean).join(', ');
  const where = [place, browser].filter(Boolean).join(', ');
  const key = clean(n.detail.device_name);
  switch (n.type) {
    case 'login.approved':
      return `New login: ${clean(n.detail.client_name)}${where ? `, ${where}` : ''} — approved with "${key}". Not you? Disconnect that key.`;
    case 'login.denied':
      return `Login denied: ${clean(n.detail.client_name)}${where ? `, ${where}` : ''} — with "${key}".`;
    case 'device.paired':
      return `Key "${key}" added${where ? ` (${where})` : ''}.`;
    case 'device.revoked':
      return `Key "${key}" disconnected.`;
    default:
      return 'Security event.';
  }
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export { CliError };
