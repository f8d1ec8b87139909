/**
 * Minimal server-rendered HTML for OAuth error pages and the demo: every interpolated value
 * goes through {@link escapeHtml}.
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

import { pageSecurityHeaders } from '../http/headers.ts';

/** The one inline stylesheet of these documents; the CSP admits it by {@link DOCUMENT_STYLE_HASH}. */
export const DOCUMENT_STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:.2rem}table{border-collapse:collapse}td,th{text-align:left;padding:.3rem .8rem;border-bottom:1px solid #ddd}
.button{display:inline-block;background:#2362a2;color:#fff;padding:.7rem 1.2rem;border-radius:.4rem;text-decoration:none;border:0;font-size:1rem;cursor:pointer}`;

/** CSP hash source of {@link DOCUMENT_STYLE} (SHA-256, base64; CSP3 §8.3; checked by a test). */
export const DOCUMENT_STYLE_HASH = "'sha256-ikxsy7xsWRGOZBJMwwes7LDKjTMFvI67p9fMkuXXFJg='";

/** Headers for an {@link htmlDocument}: the hosted pages' security headers (CSP, no framing, nosniff…). */
export function documentHeaders(): Record<string, string> {
  return pageSecurityHeaders([DOCUMENT_STYLE_HASH]);
}

/** A whole HTML document; `body` must already be escaped markup. */
export function htmlDocument(title: string, body: string, lang = 'en'): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${DOCUMENT_STYLE}</style>
</head>
<body>
${body}
</body>
</html>`;
}

/** The error page's text in each page language. */
const ERROR_TEXT = {
  cs: {
    title: 'Požadavek na přihlášení odmítnut',
    heading: 'Tento požadavek na přihlášení nelze zpracovat',
    body: 'Služba, která vás sem poslala, odeslala požadavek, na který nemůžeme odpovědět. Vraťte se na ni a zkuste to znovu, nebo kontaktujte jejího provozovatele.',
    error: 'Chyba',
  },
  en: {
    title: 'Login request refused',
    heading: 'This login request cannot be processed',
    body: 'The service that sent you here made a request we cannot answer. Go back to it and try again, or contact its operator.',
    error: 'Error',
  },
} as const;

/**
 * The page shown instead of redirecting when the client or its redirect_uri cannot be trusted
 * (RFC 6749 §4.1.2.1): the person learns what went wrong and is sent nowhere. The OAuth `error`
 * code and its (English, technical) description are shown for the service's developers.
 * @param locale `cs` (default) or `en`.
 */
export function errorPage(code: string, description: string, locale: 'cs' | 'en' = 'cs'): string {
  const text = ERROR_TEXT[locale];
  return htmlDocument(
    text.title,
    `<main><h1>${escapeHtml(text.heading)}</h1>
<p>${escapeHtml(text.body)}</p>
<p>${escapeHtml(text.error)}: <code id="error">${escapeHtml(code)}</code></p>
<p id="error_description" lang="en">${escapeHtml(description)}</p></main>`,
    locale,
  );
}

const TOO_MANY_TEXT = {
  cs: { title: 'Příliš mnoho přihlášení', body: 'Odsud se právě zahajuje příliš mnoho přihlášení. Počkejte chvíli a zkuste to znovu.' },
  en: { title: 'Too many logins', body: 'Too many logins are being started from here right now. Wait a moment and try again.' },
} as const;

/**
 * The page for a browser whose login start was rate limited (HTTP 429, with `Retry-After`).
 * @param locale `cs` (default) or `en`.
 */
export function tooManyPage(locale: 'cs' | 'en' = 'cs'): string {
  const text = TOO_MANY_TEXT[locale];
  return htmlDocument(text.title, `<main><h1>${escapeHtml(text.title)}</h1>\n<p>${escapeHtml(text.body)}</p>\n<p><code id="error">too_many_requests</code></p></main>`, locale);
}
