/**
 * `npm run -s secrets -- …`: the production secrets in a local JSON file for
 * `wrangler secret bulk FILE` (docs/deploy.md). The file is the operator's copy: Cloudflare never
 * gives a secret back, so rotation edits this file and uploads it again.
 *
 *   generate --out FILE                 fresh ADMIN_TOKEN, SIGNING_KEYS (RS256 + ES256), PAIRWISE_SECRET, VAPID_KEYS
 *   add-key --alg RS256|ES256 --file F  rotation step 1: publish a new key (JWKS only, not signing)
 *   promote KID --file F                rotation step 2: the key signs its alg
 *   retire KID --file F                 rotation step 3: drop an old key once its tokens expired
 *   list --file F                       kid, alg and role of every key
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSecrets, generateSigningKey, promoteKey, publishKey, retireKey, type SigningJwk } from './lib/secrets.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, file: { type: 'string' }, alg: { type: 'string' } },
});
const [command, kid] = positionals;

function fail(message: string, code = 1): never {
  process.stderr.write(`secrets: ${message}\n`);
  process.exit(code);
}

function read(file: string | undefined): { file: string; secrets: Record<string, string>; keys: SigningJwk[] } {
  if (!file) fail('--file FILE is required', 2);
  if (!existsSync(file)) fail(`${file} does not exist`);
  const secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  if (typeof secrets.SIGNING_KEYS !== 'string') fail(`${file} has no SIGNING_KEYS`);
  return { file, secrets, keys: JSON.parse(secrets.SIGNING_KEYS) as SigningJwk[] };
}

function write(file: string, secrets: Record<string, string>): void {
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
}

function describe(keys: SigningJwk[]): string {
  return keys.map((k) => `${k.kid}  ${k.alg}  ${keys.find((o) => o.alg === k.alg) === k ? 'signs' : 'published'}`).join('\n');
}

function edit(change: (keys: SigningJwk[]) => SigningJwk[]): void {
  const { file, secrets, keys } = read(values.file);
  let next: SigningJwk[];
  try {
    next = change(keys);
  } catch (error) {
    fail((error as Error).message);
  }
  write(file, { ...secrets, SIGNING_KEYS: JSON.stringify(next) });
  process.stdout.write(`${describe(next)}\nUpload with: npx wrangler secret bulk ${file}\n`);
}

switch (command) {
  case 'generate': {
    if (!values.out) fail('--out FILE is required', 2);
    if (existsSync(values.out)) fail(`${values.out} exists; refusing to overwrite secrets`);
    const secrets = await generateSecrets();
    write(values.out, { ...secrets });
    process.stdout.write(`Wrote ${values.out} (mode 600). Upload with: npx wrangler secret bulk ${values.out}\n`);
    break;
  }
  case 'add-key': {
    if (values.alg !== 'RS256' && values.alg !== 'ES256') fail('--alg must be RS256 or ES256', 2);
    const key = await generateSigningKey(values.alg);
    edit((keys) => publishKey(keys, key));
    break;
  }
  case 'promote':
  case 'retire':
    if (!kid) fail(`${command} KID --file FILE`, 2);
    edit((keys) => (command === 'promote' ? promoteKey(keys, kid) : retireKey(keys, kid)));
    break;
  case 'list':
    process.stdout.write(`${describe(read(values.file).keys)}\n`);
    break;
  default:
    fail('usage: secrets generate --out FILE | add-key --alg RS256|ES256 --file FILE | promote KID --file FILE | retire KID --file FILE | list --file FILE', 2);
}
