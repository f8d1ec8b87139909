/**
 * Relying-service records kept in the isolate for a short while, so a login's `/authorize` and
 * `/token` do not each read the same slow-changing row from D1 (docs/performance.md).
 *
 * Staleness, stated plainly: an entry lives {@link CLIENT_CACHE_TTL_MS} (30 s) from when it was
 * read. A change made through this product (operator API, console: update, secret rotation,
 * disabling, registration) drops the entry in the isolate that made it at once; other isolates
 * (other Cloudflare locations, or the same location's other isolates) keep the old record until
 * their entry is 30 s old. So for up to 30 s after an operator acts, elsewhere:
 * - a removed redirect URI is still accepted, a newly added one may still be refused;
 * - a disabled service can still start logins and redeem codes;
 * - a rotated secret's predecessor still authenticates (the new one works at once: a mismatch
 *   re-reads the row, see src/oidc/clients.ts `authenticateCachedClient`).
 * Unknown client ids are never cached (a service registered a moment ago works at once), and
 * the cache holds no more than {@link CLIENT_CACHE_MAX} entries (the oldest read goes first).
 */

/** How long an entry is used after it was read from D1, in milliseconds. */
export const CLIENT_CACHE_TTL_MS = 30_000;
/** At most this many clients are held per isolate. */
export const CLIENT_CACHE_MAX = 500;

interface Entry<T> {
  value: T;
  /** Epoch milliseconds after which the entry is read again. */
  expiresAt: number;
}

const entries = new Map<string, Entry<unknown>>();

/**
 * The cached value for `clientId` while fresh, else `load()`'s (stored when not null).
 * @param now epoch milliseconds (a parameter for tests).
 */
export async function cachedClientRecord<T>(clientId: string, load: () => Promise<T | null>, now = Date.now()): Promise<T | null> {
  const hit = entries.get(clientId);
  if (hit && hit.expiresAt > now) return hit.value as T;
  entries.delete(clientId);
  const value = await load();
  if (value !== null) {
    if (entries.size >= CLIENT_CACHE_MAX) entries.delete(entries.keys().next().value!);
    entries.set(clientId, { value, expiresAt: now + CLIENT_CACHE_TTL_MS });
  }
  return value;
}

/** Drops `clientId`'s entry in this isolate: call after any change to its row. */
export function forgetClient(clientId: string): void {
  entries.delete(clientId);
}

/** Drops every entry in this isolate (tests start from an empty database). */
export function forgetAllClients(): void {
  entries.clear();
}
