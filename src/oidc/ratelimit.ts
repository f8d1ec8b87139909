/**
 * Rate limits on starting logins (`/authorize`): every accepted request creates a Durable
 * Object, so anonymous callers must not create them in bulk (issue 14, review 4). Two Workers
 * Rate Limiting bindings (wrangler.toml `[[ratelimits]]`): per client address (IPv6 per /64)
 * and per relying service. Limits and periods live in wrangler.toml and docs/security.md.
 */
import { addressKey } from '../http/address.ts';

/** The period of both limits in seconds (wrangler.toml `simple.period`), sent as `Retry-After`. */
export const LOGIN_START_PERIOD_SECONDS = 10;

/**
 * Whether one more login may be started by this address: keyed by {@link addressKey} of
 * `CF-Connecting-IP`. Without that header (a local caller under `wrangler dev`, where every
 * caller is the one local person) only the per-client limit applies.
 * @returns true when allowed.
 */
export async function addressMayStartLogin(env: Env, request: Request): Promise<boolean> {
  const ip = request.headers.get('CF-Connecting-IP');
  if (!ip) return true;
  return (await env.AUTHORIZE_PER_ADDRESS.limit({ key: `authorize:${addressKey(ip)}` })).success;
}

/** Whether one more login may be started for this (registered) relying service. */
export async function clientMayStartLogin(env: Env, clientId: string): Promise<boolean> {
  return (await env.AUTHORIZE_PER_CLIENT.limit({ key: `authorize:${clientId}` })).success;
}
