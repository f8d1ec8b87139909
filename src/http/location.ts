/**
 * Where a request comes from, as Cloudflare's network reports it: `request.cf.country` (ISO
 * 3166-1 alpha-2) and `request.cf.city`. Both are absent or a placeholder off Cloudflare, so on a
 * loopback issuer (`wrangler dev`, the tests) the headers Cloudflare's "Add visitor location
 * headers" managed transform would set — `CF-IPCountry`, `CF-IPCity` — take precedence. They are
 * never trusted on any other issuer: a browser could send them itself.
 */

/** A request's place; each field only when known. */
export interface RequestLocation {
  /** ISO 3166-1 alpha-2, upper case (never `XX` "unknown" or `T1` "Tor"). */
  country?: string;
  city?: string;
}

/** The location headers trusted on a loopback issuer only (docs/security.md, "Known limits"). */
export const DEV_LOCATION_HEADERS = { country: 'CF-IPCountry', city: 'CF-IPCity' } as const;

/**
 * A country code usable for display and comparison: two letters A–Z, not Cloudflare's `XX`
 * (unknown) or `T1` (Tor, which the pattern already refuses).
 */
export function isCountryCode(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Z]{2}$/.test(value) && value !== 'XX';
}

function isLoopback(issuer: string): boolean {
  const host = URL.parse(issuer)?.hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/**
 * The request's country and city (unvalidated city text: pass it through `safeRequester` before
 * showing it).
 * @param request the incoming request (its `cf` object when Cloudflare supplied one).
 * @param issuer the service's `ISSUER`; the dev headers count only when it is a loopback origin.
 */
export function requestLocation(request: Request, issuer: string): RequestLocation {
  const cf = (request as Request & { cf?: { country?: unknown; city?: unknown } }).cf;
  let country: unknown = cf?.country;
  let city: unknown = cf?.city;
  if (isLoopback(issuer)) {
    const devCountry = request.headers.get(DEV_LOCATION_HEADERS.country);
    if (devCountry !== null) {
      country = devCountry.trim().toUpperCase();
      // A test naming a country without a city must not inherit the runtime's placeholder city.
      city = request.headers.get(DEV_LOCATION_HEADERS.city) ?? undefined;
    }
  }
  const location: RequestLocation = {};
  if (isCountryCode(country)) location.country = country;
  if (typeof city === 'string' && city.length > 0) location.city = city;
  return location;
}

/**
 * Whether a login's browser and the phone answering it are in different countries: true only
 * when both are known and differ (an unknown side proves nothing either way).
 */
export function countriesDiffer(browser: string | undefined, phone: string | undefined): boolean {
  return isCountryCode(browser) && isCountryCode(phone) && browser !== phone;
}
