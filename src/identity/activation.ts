/**
 * Activation codes: one-time enrolment codes handed to a person (at a counter, by letter) and
 * typed or scanned into the mobile key. Stored as SHA-256 of the normalised code.
 *
 * Format: 16 characters of Crockford's base32 alphabet (no I, L, O, U) in four dash-separated
 * groups, e.g. `7QKM-3XTR-9BWD-H2CE` — 80 bits from the platform CSPRNG, easy to read aloud.
 * Input is normalised before hashing: case, spaces and dashes are ignored, and the look-alikes
 * O→0, I/L→1 are mapped as Crockford specifies.
 *
 * Issuing a new code for an identity deletes its older unused codes: the newest letter wins.
 */
import { sha256Hex } from '../session/crypto.ts';
import { auditStatement } from './audit.ts';
import { newDeviceId, platformColumns, type DevicePlatform, type PublicP256Jwk } from './devices.ts';

/** Crockford's base32 alphabet. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Default activation code lifetime when `ACTIVATION_CODE_TTL_SECONDS` is unset or invalid: 7 days, in seconds. */
export const DEFAULT_ACTIVATION_CODE_TTL_SECONDS = 7 * 24 * 60 * 60;

/** The configured activation code lifetime in seconds (`ACTIVATION_CODE_TTL_SECONDS`). */
export function activationCodeTtlSeconds(env: Pick<Env, 'ACTIVATION_CODE_TTL_SECONDS'>): number {
  const value = Number(env.ACTIVATION_CODE_TTL_SECONDS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_ACTIVATION_CODE_TTL_SECONDS;
}

/** A fresh code: 80 random bits as `XXXX-XXXX-XXXX-XXXX`. */
export function generateActivationCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let chars = '';
  for (let i = 15; i >= 0; i--) chars += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return chars.match(/.{4}/g)!.join('-');
}

/**
 * The canonical form of typed input: upper case, without spaces and dashes, look-alikes mapped.
 * @returns null unless it is 16 characters of the alphabet.
 */
export function normaliseActivationCode(input: string): string | null {
  const text = input
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(text) ? text : null;
}

/** The web app link that opens enrolment with the code filled in: `${issuer}/key/enrol#<code>`. */
export function activationUrl(issuer: string, code: string): string {
  return `${issuer}/key/enrol#${code}`;
}

/**
 * Issues a new activation code for an identity, deleting its older unused codes.
 * @param ttlSeconds lifetime in seconds.
 * @param now epoch milliseconds.
 * @param operator the console operator's `sub` who issued it (audited).
 * @returns the code in the clear (shown once, never stored) and its expiry (epoch ms).
 */
export async function issueActivationCode(
  db: D1Database,
  sub: string,
  ttlSeconds: number,
  now = Date.now(),
  operator?: string,
): Promise<{ code: string; expiresAt: number }> {
  const code = generateActivationCode();
  const expiresAt = now + ttlSeconds * 1000;
  await db.batch([
    db.prepare('DELETE FROM activation_codes WHERE sub = ?1 AND used_at IS NULL').bind(sub),
    db
      .prepare('INSERT INTO activation_codes (code_hash, sub, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)')
      .bind(await sha256Hex(normaliseActivationCode(code)!), sub, now, expiresAt),
    auditStatement(db, { type: 'activation-code.issued', sub, operator: operator ?? null, detail: { expires_at: expiresAt } }, now),
  ]);
  return { code, expiresAt };
}

export type EnrolResult =
  | { ok: true; deviceId: string; sub: string }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' };

/**
 * Enrols a device with an activation code, atomically: in one D1 transaction the code is
 * consumed (only if unused and unexpired), the device inserted and the enrolment audited, so
 * two racing requests with the same code enrol exactly one device.
 * @param input.code the code as typed (normalised here).
 * @param input.publicJwk an already validated P-256 public key.
 * @param input.platform the enrolling request's browser and OS (src/session/start.ts
 *   `describeUserAgent`); stored only as {@link platformColumns} keeps it, else NULL.
 * @param now epoch milliseconds.
 */
export async function enrolDevice(
  db: D1Database,
  input: { code: string; publicJwk: PublicP256Jwk; name: string; platform?: DevicePlatform },
  now = Date.now(),
): Promise<EnrolResult> {
  const normalised = normaliseActivationCode(input.code);
  if (!normalised) return { ok: false, reason: 'unknown' };
  const hash = await sha256Hex(normalised);
  const deviceId = newDeviceId();
  const { browser, os } = platformColumns(input.platform);
  // The insert and audit select the row the update just claimed (device_id = our fresh id),
  // so they insert nothing unless the conditional update took effect.
  const [consumed] = await db.batch<{ sub: string }>([
    db
      .prepare(
        'UPDATE activation_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING sub',
      )
      .bind(hash, now, deviceId),
    db
      .prepare(
        `INSERT INTO devices (id, sub, public_jwk, name, created_at, browser, os)
         SELECT ?2, sub, ?3, ?4, ?5, ?6, ?7 FROM activation_codes WHERE code_hash = ?1 AND device_id = ?2`,
      )
      .bind(hash, deviceId, JSON.stringify(input.publicJwk), input.name, now, browser, os),
    db
      .prepare(
        `INSERT INTO audit_events (at, type, sub, device_id, detail)
         SELECT ?3, 'enrolment', sub, ?2, ?4 FROM activation_codes WHERE code_hash = ?1 AND device_id = ?2`,
      )
      .bind(hash, deviceId, now, JSON.stringify({ name: input.name, method: 'activation-code' })),
  ]);
  const sub = consumed?.results[0]?.sub;
  if (sub) return { ok: true, deviceId, sub };
  const row = await db
    .prepare('SELECT used_at, expires_at FROM activation_codes WHERE code_hash = ?1')
    .bind(hash)
    .first<{ used_at: number | null; expires_at: number }>();
  if (!row) return { ok: false, reason: 'unknown' };
  return { ok: false, reason: row.used_at !== null ? 'used' : 'expired' };
}

/**
 * Whose identity an activation code would enrol to, without using it (the web app and the CLI
 * show the person's name before the key is made).
 * @param now epoch milliseconds.
 * @returns the identity's `sub` and the code's expiry, or why the code cannot be used.
 */
export async function previewActivationCode(
  db: D1Database,
  code: string,
  now = Date.now(),
): Promise<{ ok: true; sub: string; expiresAt: number } | { ok: false; reason: 'unknown' | 'used' | 'expired' }> {
  const normalised = normaliseActivationCode(code);
  if (!normalised) return { ok: false, reason: 'unknown' };
  const row = await db
    .prepare('SELECT sub, used_at, expires_at FROM activation_codes WHERE code_hash = ?1')
    .bind(await sha256Hex(normalised))
    .first<{ sub: string; used_at: number | null; expires_at: number }>();
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.used_at !== null) return { ok: false, reason: 'used' };
  if (row.expires_at <= now) return { ok: false, reason: 'expired' };
  return { ok: true, sub: row.sub, expiresAt: row.expires_at };
}
