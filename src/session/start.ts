import Bowser from 'bowser';
import type { Context } from 'hono';
import { requestLocation } from '../http/location.ts';
import { safeRequester } from '../http/names.ts';
import { issueBindingCookie } from './binding.ts';
import { loginStub, unwrap } from './stub.ts';
import type { LoginClient, LoginSnapshot, Requester } from './types.ts';

/** Default login validity when `LOGIN_VALIDITY_SECONDS` is unset or invalid, in seconds. */
export const DEFAULT_VALIDITY_SECONDS = 180;

/** The configured login validity in seconds (`LOGIN_VALIDITY_SECONDS`, default 180). */
export function loginValiditySeconds(env: Env): number {
  const value = Number(env.LOGIN_VALIDITY_SECONDS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_VALIDITY_SECONDS;
}

const KNOWN_BROWSERS: ReadonlySet<string> = new Set(Object.values(Bowser.BROWSER_MAP));
const KNOWN_OSES: ReadonlySet<string> = new Set(Object.values(Bowser.OS_MAP));

/**
 * Browser and OS of a User-Agent as short text for the phone ("Chrome 131", "Windows 10"), or
 * nothing. Only names bowser knows are kept: its catch-all parser turns any `Name/1.0` into a
 * "browser", so a forged agent could otherwise put free text ("This is your own computer - safe
 * to approve", bidi overrides) on the approval screen. Versions are digits only.
 * @param userAgent the raw header (never stored or shown itself).
 */
export function describeUserAgent(userAgent: string): { browser?: string; os?: string } {
  const described: { browser?: string; os?: string } = {};
  let parsed: Bowser.Parser.ParsedResult;
  try {
    parsed = Bowser.parse(userAgent.slice(0, 1024));
  } catch {
    return described;
  }
  const name = parsed.browser.name;
  if (name && KNOWN_BROWSERS.has(name)) {
    const major = /^(\d{1,4})(?:\.|$)/.exec(parsed.browser.version ?? '')?.[1];
    described.browser = major ? `${name} ${major}` : name;
  }
  const os = parsed.os.name;
  if (os && KNOWN_OSES.has(os)) {
    const version = parsed.os.versionName ?? /^\d{1,4}(?:\.\d{1,4})?/.exec(parsed.os.version ?? '')?.[0];
    described.os = version && /^[\p{L}\p{N} .]{1,20}$/u.test(version) ? `${os} ${version}` : os;
  }
  return safeRequester(described);
}

/**
 * Where and what the requesting browser is: country and city from Cloudflare's request data
 * ({@link requestLocation}: `request.cf`, or on a loopback issuer the `CF-IPCountry`/`CF-IPCity`
 * headers tests set), browser and OS parsed from the User-Agent by {@link describeUserAgent};
 * every field passes {@link safeRequester}.
 * @param issuer the service's `ISSUER`.
 */
export function requesterOf(request: Request, issuer: string): Requester {
  return safeRequester({
    ...requestLocation(request, issuer),
    ...describeUserAgent(request.headers.get('User-Agent') ?? ''),
  });
}

/**
 * Starts a login: a fresh LoginSession object (created near this request), a binding cookie on
 * the response, and the expiry alarm.
 * @param input.authorization the validated authorization request, kept opaque by the session.
 * @returns the login's first snapshot (its `id` names the page: `/login/<id>`).
 */
export async function startLogin(
  c: Context<{ Bindings: Env }>,
  input: { client: LoginClient; claims: string[]; locale: string; authorization: Record<string, unknown>; requiredSub?: string },
): Promise<LoginSnapshot> {
  const id = c.env.LOGIN_SESSION.newUniqueId().toString();
  const validitySeconds = loginValiditySeconds(c.env);
  // The cookie outlives the login a little, so a page reloaded after expiry still sees "expired".
  const bindingHash = await issueBindingCookie(c, id, validitySeconds + 15 * 60);
  const stub = loginStub(c.env, id);
  return unwrap(
    await stub.start({ ...input, bindingHash, validitySeconds, requester: requesterOf(c.req.raw, c.env.ISSUER) }),
  );
}
