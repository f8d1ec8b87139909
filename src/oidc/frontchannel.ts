/**
 * Front-Channel Logout 1.0 (§2, §4) and the logout pages' Content-Security-Policy. Pure.
 */
import type { Client } from './clients.ts';

/**
 * The URL the logged-out page loads in an iframe for a client: its registered
 * `frontchannel_logout_uri` with `iss` and `sid` added (Front-Channel Logout §2: we always send
 * them, so `frontchannel_logout_session_required` is always met). A query in the registered URI
 * is kept.
 */
export function frontchannelUrl(uri: string, issuer: string, sid: string): string {
  const url = new URL(uri);
  url.searchParams.append('iss', issuer);
  url.searchParams.append('sid', sid);
  return url.toString();
}

/** The front-channel iframes of an ended session: one per client that registered a URI. */
export function frontchannelFrames(clients: (Client | null)[], issuer: string, sid: string): string[] {
  const uris = clients.map((client) => client?.frontchannelLogoutUri).filter((uri): uri is string => !!uri);
  return [...new Set(uris)].map((uri) => frontchannelUrl(uri, issuer, sid));
}

/**
 * The CSP of a logout page: as strict as every hosted page (src/login/html.tsx), plus
 * `frame-src` for exactly the origins of the front-channel iframes (none: no frames at all) and
 * the one inline script of the logged-out page, by its hash (never 'unsafe-inline').
 * @param scriptHash `sha256-…` of the inline script, when the page has it.
 */
export function logoutContentSecurityPolicy(frames: string[], scriptHash?: string): string {
  const origins = [...new Set(frames.map((frame) => new URL(frame).origin))];
  return [
    "default-src 'none'",
    scriptHash ? `script-src '${scriptHash}'` : "script-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    origins.length ? `frame-src ${origins.join(' ')}` : "frame-src 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
