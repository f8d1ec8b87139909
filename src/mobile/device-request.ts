/**
 * Checking a device's signed request about itself (src/mobile/protocol.ts `deviceRequestMessage`):
 * starting a pairing, reading its notifications, subscribing to push.
 */
import * as v from 'valibot';
import { ProblemError } from '../http/problem.ts';
import { getDevice, type Device } from '../identity/devices.ts';
import { deviceRequestMessage, isRevocationTimely, REVOCATION_WINDOW_MS, verifyDeviceSignature, type DeviceRequestAction } from './protocol.ts';

/** The fields every signed device request carries. */
export const DeviceRequestFields = {
  device_id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  timestamp: v.pipe(v.number(), v.safeInteger('timestamp must be an integer (epoch milliseconds)'), v.minValue(1, 'timestamp must be positive')),
  signature: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
};

/**
 * The usable device that signed this request.
 * @param subject the message's subject line (omitted: `-`).
 * @throws {ProblemError} 404 `unknown-device`, 401 `invalid-signature`, 403 `device-revoked`,
 *   400 `timestamp-out-of-window` (with the server's `now`, so a device with a wrong clock can sign again).
 */
export async function signedDevice(
  db: D1Database,
  action: DeviceRequestAction,
  body: { device_id: string; timestamp: number; signature: string },
  subject?: string,
): Promise<Device> {
  const device = await getDevice(db, body.device_id);
  if (!device) throw new ProblemError('unknown-device', 404, 'Unknown device', { detail: 'No device is enrolled with this id.' });
  let message: Uint8Array<ArrayBuffer>;
  try {
    message = deviceRequestMessage({ action, deviceId: device.id, timestamp: body.timestamp, ...(subject ? { subject } : {}) });
  } catch {
    throw new ProblemError('invalid-input', 400, 'Invalid input', { detail: 'The request cannot be signed as sent.' });
  }
  if (!(await verifyDeviceSignature(device.publicJwk, message, body.signature))) {
    throw new ProblemError('invalid-signature', 401, 'Invalid signature', { detail: 'The signature does not verify with this device’s enrolled key.' });
  }
  if (device.revokedAt !== null) {
    throw new ProblemError('device-revoked', 403, 'Device revoked', { detail: 'This mobile key has been revoked.' });
  }
  const now = Date.now();
  if (!isRevocationTimely(body.timestamp, now)) {
    throw new ProblemError('timestamp-out-of-window', 400, 'Timestamp out of window', {
      detail: `The timestamp must be within ${REVOCATION_WINDOW_MS / 60_000} minutes of the server's clock. Check the device's clock.`,
      extensions: { now },
    });
  }
  return device;
}
