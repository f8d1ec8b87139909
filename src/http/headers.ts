/**
 * The security headers of every HTML page we serve (hosted login pages, the OAuth error page,
 * the demo relying service), so no page is left frameable or sniffable.
 */

/**
 * The Content-Security-Policy of our pages (CSP Level 3): scripts and styles only from our own
 * origin (no inline script; an inline style only by its hash), images from us or `data:`,
 * fetches and the WebSocket to our own origin (`'self'` covers ws:/wss: on the same host, CSP3
 * §6.7.2.8), forms posting only to us, no framing (clickjacking) and no `<base>` rewriting.
 * @param styleHashes CSP hash sources (`'sha256-…'`) of inline `<style>` elements the page has.
 */
export function contentSecurityPolicy(styleHashes: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    ["style-src 'self'", ...styleHashes].join(' '),
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Headers for an HTML page: the CSP above, no caching (pages carry live logins, codes and
 * claims), no referrer (URLs name logins), no MIME sniffing, no framing for browsers without
 * `frame-ancestors`, a private opener, and no powerful features.
 * @param styleHashes see {@link contentSecurityPolicy}.
 */
export function pageSecurityHeaders(styleHashes: readonly string[] = []): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': contentSecurityPolicy(styleHashes),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}
