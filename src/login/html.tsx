/**
 * HTML responses for the hosted pages: one set of security headers every HTML route uses, and
 * the document around server-rendered Preact markup.
 */
import { renderToString } from 'preact-render-to-string';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { VNode } from 'preact';
import { contentSecurityPolicy, pageSecurityHeaders } from '../http/headers.ts';
import { pageAssets } from './assets.ts';

/** The Content-Security-Policy of every hosted page (see src/http/headers.ts). */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/**
 * Headers for an HTML page that shows login state (src/http/headers.ts); with `inlineStyle`,
 * the CSP also allows the page CSS {@link renderDocument} inlines, by its hash.
 */
export function htmlSecurityHeaders(inlineStyle = false): Record<string, string> {
  const hash = inlineStyle ? pageAssets().styleHash : null;
  return pageSecurityHeaders(hash ? [hash] : []);
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

/**
 * Renders a full HTML document (doctype included) with the shared page CSS: inline (a
 * `<style>` the CSP allows by hash, so the first paint needs no second request) when
 * `inlineStyle` and the build's CSS is loaded (src/login/assets.ts), else linked.
 */
export function renderDocument(page: HtmlPage, inlineStyle = false): string {
  const assets = pageAssets();
  const style =
    inlineStyle && assets.css !== null ? <style dangerouslySetInnerHTML={{ __html: assets.css }} /> : <link rel="stylesheet" href={assets.cssFile} />;
  const html = renderToString(
    <html lang={page.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{page.title}</title>
        <link rel="icon" href={assets.icon} type="image/svg+xml" />
        {style}
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
  return c.body(renderDocument(page, true), status, htmlSecurityHeaders(true));
}
