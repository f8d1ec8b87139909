/**
 * HTML responses for the hosted pages: one set of security headers every HTML route uses, and
 * the document around server-rendered Preact markup.
 */
import { renderToString } from 'preact-render-to-string';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { VNode } from 'preact';
import { contentSecurityPolicy, pageSecurityHeaders } from '../http/headers.ts';

/** The Content-Security-Policy of every hosted page (see src/http/headers.ts). */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** Headers for an HTML page that shows login state (src/http/headers.ts). */
export function htmlSecurityHeaders(): Record<string, string> {
  return pageSecurityHeaders();
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
