/**
 * Which screen the web app shows for a location. Fragments carry the secrets (the login's QR
 * frame or launch token, the activation code) because browsers never send them to the server.
 *
 * - `/key/` — home: this device's keys and what to do next
 * - `/key/enrol` or `/key/enrol#<activation code>` — enrolment
 * - `/key/login#<login id>.<frame>` — a login (what the QR and the same-device button open)
 * - `/key/login` with no (or a malformed) fragment — scan a QR or paste the link
 * - `/key/pair` — add another key: this device's key starts a pairing and shows its QR
 * - `/key/pair#<pairing id>.<secret>` — this device joins a pairing as the new key
 */
import { parseLoginUrl } from '../../../src/mobile/protocol.ts';
import { parsePairingUrl } from '../../../src/pairing/protocol.ts';
import { normalizeActivationCode } from './activation.ts';

export type Route =
  | { screen: 'home' }
  | { screen: 'enrol'; code: string }
  | { screen: 'scan'; invalidLink: boolean }
  | { screen: 'login'; loginId: string; frame: string; origin: string }
  | { screen: 'pair-start' }
  | { screen: 'pair-join'; pairingId: string; secret: string }
  | { screen: 'pair-invalid' };

/** Base path of the web app. */
export const APP_BASE = '/key';

/**
 * The route for a location.
 * @param location `origin`, `pathname` and `hash` as in `window.location`.
 */
export function routeFromLocation(location: { origin: string; pathname: string; hash: string }): Route {
  const path = location.pathname.replace(/\/+$/, '');
  if (path === `${APP_BASE}/enrol`) return { screen: 'enrol', code: normalizeActivationCode(decodeFragment(location.hash)) };
  if (path === `${APP_BASE}/login`) {
    if (!location.hash || location.hash === '#') return { screen: 'scan', invalidLink: false };
    const login = parseLoginUrl(`${location.origin}${APP_BASE}/login${location.hash}`);
    return login ? { screen: 'login', ...login } : { screen: 'scan', invalidLink: true };
  }
  if (path === `${APP_BASE}/pair`) {
    if (!location.hash || location.hash === '#') return { screen: 'pair-start' };
    const pairing = parsePairingUrl(`${location.origin}${APP_BASE}/pair${location.hash}`);
    return pairing ? { screen: 'pair-join', pairingId: pairing.pairingId, secret: pairing.secret } : { screen: 'pair-invalid' };
  }
  return { screen: 'home' };
}

/** The path (with fragment) that shows a route; the inverse of {@link routeFromLocation}. */
export function pathForRoute(route: Route): string {
  switch (route.screen) {
    case 'home':
      return `${APP_BASE}/`;
    case 'enrol':
      return `${APP_BASE}/enrol`;
    case 'scan':
      return `${APP_BASE}/login`;
    case 'login':
      return `${APP_BASE}/login#${route.loginId}.${route.frame}`;
    case 'pair-start':
    case 'pair-invalid':
      return `${APP_BASE}/pair`;
    case 'pair-join':
      return `${APP_BASE}/pair#${route.pairingId}.${route.secret}`;
  }
}

/**
 * Reads a login from scanned or pasted text: the full login URL of this server.
 * @param text a QR's content or a pasted link.
 * @param origin this app's origin; a login of another server is refused (`other-origin`), since
 *   the app may only talk to its own server (CSP `connect-src 'self'`).
 */
export function loginFromText(
  text: string,
  origin: string,
): { ok: true; loginId: string; frame: string; origin: string } | { ok: false; reason: 'not-a-login' | 'other-origin' } {
  const login = parseLoginUrl(text.trim());
  if (!login) return { ok: false, reason: 'not-a-login' };
  if (login.origin !== origin) return { ok: false, reason: 'other-origin' };
  return { ok: true, ...login };
}

/** The fragment without its `#`, URI-decoded when it is (a QR app may have encoded spaces). */
function decodeFragment(hash: string): string {
  const text = hash.replace(/^#/, '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
