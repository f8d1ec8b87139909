/**
 * Enrolling the key a pairing brought in: the device row and its audit event in one D1 batch,
 * written by the Pairing object when the existing key confirms.
 */
import { platformColumns, type DevicePlatform, type PublicP256Jwk } from '../identity/devices.ts';

/**
 * The statements that enrol a paired key; idempotent (a repeated confirmation inserts nothing
 * and audits nothing: the audit row is written only when the device row was).
 * @param input.platform the new device's browser and OS from its claim request's User-Agent
 *   (the claim's requester); stored only as {@link platformColumns} keeps it, else NULL.
 * @param now epoch ms.
 */
export function pairedDeviceStatements(
  db: D1Database,
  input: { deviceId: string; sub: string; publicJwk: PublicP256Jwk; name: string; starterDeviceId: string; pairingId: string; platform?: DevicePlatform },
  now = Date.now(),
): D1PreparedStatement[] {
  const { browser, os } = platformColumns(input.platform);
  return [
    db
      .prepare('INSERT OR IGNORE INTO devices (id, sub, public_jwk, name, created_at, browser, os) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)')
      .bind(input.deviceId, input.sub, JSON.stringify(input.publicJwk), input.name, now, browser, os),
    db
      .prepare(
        `INSERT INTO audit_events (at, type, sub, device_id, detail)
         SELECT ?3, 'enrolment', ?2, ?1, ?4 WHERE changes() = 1`,
      )
      .bind(input.deviceId, input.sub, now, JSON.stringify({ name: input.name, method: 'pairing', paired_by: input.starterDeviceId, pairing_id: input.pairingId })),
  ];
}
