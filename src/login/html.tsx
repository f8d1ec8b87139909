/**
 * HTML responses for the hosted pages: one set of security headers every HTML route uses, and
 * the document around server-rendered Preact markup.
 */
import { renderToString } from 'preact-render-to-string';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { VNode } from 'preact';

/**
 * The Content-Security-Policy of every hosted page (CSP Level 3): scripts and styles only from
 * our own origin (no inline script or style), images from us or `data:`, fetches and the
 * WebSocket to our own origin (`'self'` covers ws:/wss: on the same host, CSP3 §6.7.2.8),
 * forms posting only to us, no framing (clickjacking) and no `<base>` rewriting.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Headers for an HTML page that shows login state: the CSP above, no caching (the page carries
 * a live login and its QR secret), no referrer (the URL names the login), no MIME sniffing,
 * no framing for browsers without `frame-ancestors`, and a private opener.
 */
export function htmlSecurityHeaders(): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}

/** What one HTML page is made of. */
export interface HtmlPage {
  /** The document language (`<html lang>`). */
  lang: string;
  title: string;
  /** The page's `<body>` content. */
  body: VNode;
  /** Extra `<head>` elements (e.g. a `<noscript>` refresh). */
  head?: VNode | null;
}

/** Renders a full HTML document (doctype included) with the shared stylesheet. */
export function renderDocument(page: HtmlPage): string {
  const html = renderToString(
    <html lang={page.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{page.title}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/login.css" />
        {page.head ?? null}
      </head>
      <body>{page.body}</body>
    </html>,
  );
  return `<!doctype html>\n${html}`;
}

/**
 * Sends an HTML page with {@link htmlSecurityHeaders}, keeping headers already set on the
 * context (such as `Set-Cookie`).
 * @param status the HTTP status (200 unless an error page).
 */
export function sendHtml(c: Context, page: HtmlPage, status: ContentfulStatusCode = 200): Response {
  return c.body(renderDocument(page), status, htmlSecurityHeaders());
}
