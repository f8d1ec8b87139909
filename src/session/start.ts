import Bowser from 'bowser';
import type { Context } from 'hono';
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

/**
 * Where and what the requesting browser is: country and city from Cloudflare's request data
 * (`request.cf`, absent locally), browser and OS from the User-Agent.
 */
export function requesterOf(request: Request): Requester {
  const cf = (request as Request & { cf?: IncomingRequestCfProperties }).cf;
  const requester: Requester = {};
  if (typeof cf?.country === 'string') requester.country = cf.country;
  if (typeof cf?.city === 'string') requester.city = cf.city;
  const ua = request.headers.get('User-Agent');
  if (ua) {
    const parsed = Bowser.parse(ua);
    const major = parsed.browser.version?.split('.')[0];
    if (parsed.browser.name) requester.browser = major ? `${parsed.browser.name} ${major}` : parsed.browser.name;
    const os = [parsed.os.name, parsed.os.versionName ?? parsed.os.version].filter(Boolean).join(' ');
    if (os) requester.os = os;
  }
  return requester;
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
    await stub.start({ ...input, bindingHash, validitySeconds, requester: requesterOf(c.req.raw) }),
  );
}
