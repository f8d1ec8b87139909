/**
 * The keys on this device, in IndexedDB. A `CryptoKey` is structured-clonable, so the
 * non-extractable private key is stored as the object itself: its bytes never reach script.
 *
 * Database `mobile-key` (version 1), object store `keys`, key path `deviceId`; each value is a
 * {@link StoredKey}. Browser tests read it directly (see docs/mobile-web-app.md).
 */

export const DB_NAME = 'mobile-key';
export const DB_VERSION = 1;
export const KEY_STORE = 'keys';

/** One enrolled key as stored. Times are epoch milliseconds. */
export interface StoredKey {
  /** The server's device id (`device_id` of the enrolment response). */
  deviceId: string;
  /** The identity the key is enrolled to (`sub`). */
  sub: string;
  /** The server's origin (e.g. `https://login.example`); a key is only used there. */
  origin: string;
  /** The device name sent at enrolment. */
  name: string;
  createdAt: number;
  /** The public key as sent at enrolment (kty, crv, x, y). */
  publicJwk: JsonWebKey;
  /** The P-256 pair; `privateKey.extractable === false`. */
  keyPair: CryptoKeyPair;
}

let opening: Promise<IDBDatabase> | null = null;

/**
 * Opens (and on first use creates) the database; one connection per page.
 * @throws {Error} when IndexedDB is unavailable or blocked.
 */
function db(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      if (!database.objectStoreNames.contains(KEY_STORE)) database.createObjectStore(KEY_STORE, { keyPath: 'deviceId' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB open failed'));
    request.onblocked = () => reject(new Error('IndexedDB open blocked'));
  }).catch((error: unknown) => {
    opening = null;
    throw error;
  });
  return opening;
}

/** Runs one request in its own transaction and resolves when the transaction has committed. */
async function run<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const database = await db();
  return new Promise<T>((resolve, reject) => {
    const tx = database.transaction(KEY_STORE, mode);
    const request = body(tx.objectStore(KEY_STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error ?? request.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** Every key on this device, oldest first. */
export async function listKeys(): Promise<StoredKey[]> {
  const all = await run('readonly', (store) => store.getAll() as IDBRequest<StoredKey[]>);
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

/** Stores (or replaces) a key. */
export async function putKey(key: StoredKey): Promise<void> {
  await run('readwrite', (store) => store.put(key));
}

/** Deletes a key by device id; deleting a missing key is not an error. */
export async function deleteKey(deviceId: string): Promise<void> {
  await run('readwrite', (store) => store.delete(deviceId));
}
