/**
 * What the app says about devices: the default name for this device's key (from its
 * User-Agent, via bowser), and how the requesting browser of a login is described.
 */
import Bowser from 'bowser';
import { safeRequester } from '../../../src/http/names.ts';
import type { Locale } from './i18n.ts';

/**
 * A default device name such as "Chrome on Android" / "Chrome na zařízení Android".
 * @param userAgent `navigator.userAgent`.
 * @returns a name of at most 64 characters; a generic one when the agent tells nothing.
 */
export function defaultDeviceName(userAgent: string, locale: Locale): string {
  let browser = '';
  let os = '';
  try {
    const parsed = Bowser.getParser(userAgent);
    browser = parsed.getBrowserName();
    os = parsed.getOSName();
  } catch {
    // an empty or odd agent string: fall through to the generic name
  }
  if (browser && os) return (locale === 'cs' ? `${browser} na zařízení ${os}` : `${browser} on ${os}`).slice(0, 64);
  if (browser || os) return (browser || os).slice(0, 64);
  return locale === 'cs' ? 'Můj prohlížeč' : 'My browser';
}

/** Where and what the requesting browser is, as the scan response gives it. */
export interface Requester {
  country?: string;
  city?: string;
  browser?: string;
  os?: string;
}

/**
 * The requesting browser's place, e.g. "Brno, Česko" / "Brno, Czechia".
 * @param regionName maps an ISO 3166-1 alpha-2 code to a name (e.g. `Intl.DisplayNames`);
 *   the code itself is used when it returns nothing.
 * @returns null when neither city nor country is known.
 */
export function describePlace(raw: Requester, regionName: (code: string) => string | undefined): string | null {
  const requester = safeRequester(raw);
  const country = requester.country ? (regionName(requester.country) ?? requester.country) : '';
  const parts = [requester.city, country].filter((part): part is string => !!part);
  return parts.length ? parts.join(', ') : null;
}

/**
 * The two countries of a location mismatch, as names in the app's language, e.g.
 * `{started: "Německo", here: "Česko"}`; null unless the scan flags a mismatch and names both
 * countries (ISO 3166-1 alpha-2).
 * @param regionName as for {@link describePlace}.
 */
export function describeMismatch(
  scan: { requester?: Requester; phone_country?: string; country_mismatch?: boolean },
  regionName: (code: string) => string | undefined,
): { started: string; here: string } | null {
  const started = safeRequester(scan.requester ?? {}).country;
  const here = safeRequester({ country: scan.phone_country }).country;
  if (scan.country_mismatch !== true || !started || !here || started === here) return null;
  return { started: regionName(started) ?? started, here: regionName(here) ?? here };
}

/**
 * The requesting browser and OS, e.g. "Chrome 131, Windows"; null when neither is known.
 * Fields that are not short printable text are left out (`safeRequester`), whatever the server sent.
 */
export function describeDevice(raw: Requester): string | null {
  const requester = safeRequester(raw);
  const parts = [requester.browser, requester.os].filter((part): part is string => !!part);
  return parts.length ? parts.join(', ') : null;
}
