/**
 * The key CLI's store: one JSON file holding the device's private key, id, identity and server,
 * written with mode 0600 (owner read/write only).
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './common.ts';
import type { KeyStore } from './mobile-client.ts';

/** `MOBILE_KEY_STORE`, else `~/.mobile-key.json`. */
export function defaultStorePath(): string {
  return process.env.MOBILE_KEY_STORE || join(homedir(), '.mobile-key.json');
}

/**
 * Reads an enrolled store.
 * @throws {CliError} `not-enrolled` when the file is missing, `bad-store` when it is not a store.
 */
export function readStore(path: string): KeyStore {
  if (!existsSync(path)) throw new CliError('not-enrolled', `no mobile key at ${path}: enrol first with \`npm run -s key -- enroll --activation-code CODE\``);
  let store: KeyStore;
  try {
    store = JSON.parse(readFileSync(path, 'utf8')) as KeyStore;
  } catch {
    throw new CliError('bad-store', `${path} is not a mobile key store (invalid JSON)`);
  }
  if (store?.version !== 1 || typeof store.device_id !== 'string' || typeof store.private_jwk?.d !== 'string') {
    throw new CliError('bad-store', `${path} is not a mobile key store`);
  }
  return store;
}

/**
 * Writes a store with mode 0600.
 * @param overwrite replace an existing store (otherwise an existing file is an error).
 * @throws {CliError} `store-exists`.
 */
export function writeStore(path: string, store: KeyStore, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) throw storeExists(path);
  writeFileSync(path, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // mode applies only when the file is created
}

/**
 * Deletes a store after its key was revoked.
 * @param deviceId the revoked device, named in the error so the person knows the key is already useless.
 * @throws {CliError} `store-not-deleted` when the file cannot be removed.
 */
export function deleteStore(path: string, deviceId: string): void {
  try {
    rmSync(path, { force: true });
  } catch (error) {
    throw new CliError('store-not-deleted', `${deviceId} is revoked, but ${path} could not be deleted (${(error as Error).message}); delete it yourself`);
  }
}

/** Fails early (before an activation code is spent) if the store cannot be written. */
export function checkWritable(path: string, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) throw storeExists(path);
}

function storeExists(path: string): CliError {
  return new CliError('store-exists', `${path} already holds a mobile key; pass --force to replace it or --store FILE to use another file`);
}
