/**
 * How an authorization response (a code or an error) reaches the relying service: in the
 * redirect_uri's query (RFC 6749 §4.1.2, the default) or as an auto-submitting form (OAuth 2.0
 * Form Post Response Mode), always with `iss` (RFC 9207 §2).
 */
import type { Context } from 'hono';
import { redirectTo } from './authorize.ts';
import { escapeHtml, htmlDocument } from './html.ts';

/** The response modes offered (discovery `response_modes_supported`). */
export const RESPONSE_MODES = ['query', 'form_post'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

/** What of the authorization request decides where and how the response goes. */
export interface ResponseTarget {
  redirect_uri: string;
  state?: string | undefined;
  response_mode?: ResponseMode | undefined;
}

/** The one inline script of the form_post page; the CSP allows exactly it by its hash. */
export const FORM_POST_SCRIPT = 'document.forms[0].submit();';

/** `'sha256-…'` of an inline script or style for a CSP source list (CSP Level 3 §2.3.1, standard base64). */
export async function cspHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

/** The CSP `style-src` of a document from {@link htmlDocument}: the hash of its one `<style>`. */
async function styleSource(html: string): Promise<string> {
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  return style === undefined ? "'none'" : cspHash(style);
}

/** Headers of the hand-back pages (never cached, never framed, no referrer to the service). */
function handBackHeaders(csp: string[]): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': [...csp, "frame-ancestors 'none'", "base-uri 'none'"].join('; '),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  };
}

/**
 * The Form Post Response Mode page: an HTML form that posts `params` to the redirect_uri, sent
 * by a script allowed by its hash (never `'unsafe-inline'`), with a visible button for browsers
 * without JavaScript. `form-action` allows only the redirect_uri's origin.
 * @param redirectUri the client's registered redirect_uri.
 * @param params the response parameters (already including `iss`); undefined values are left out.
 */
export async function formPostResponse(redirectUri: string, params: Record<string, string | undefined>, lang = 'en'): Promise<Response> {
  const fields = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const label = lang === 'cs' ? 'Pokračovat ke službě' : 'Continue to the service';
  const body = `<main><form method="post" action="${escapeHtml(redirectUri)}">
${fields}
<noscript><p>${escapeHtml(lang === 'cs' ? 'JavaScript je vypnutý: pokračujte tlačítkem.' : 'JavaScript is off: continue with the button.')}</p></noscript>
<button class="button" type="submit" data-form-post="">${escapeHtml(label)}</button>
</form>
<script>${FORM_POST_SCRIPT}</script></main>`;
  const html = htmlDocument(label, body, lang);
  const csp = [
    "default-src 'none'",
    `script-src ${await cspHash(FORM_POST_SCRIPT)}`,
    `style-src ${await styleSource(html)}`,
    `form-action ${new URL(redirectUri).origin}`,
  ];
  return new Response(html, { status: 200, headers: handBackHeaders(csp) });
}

/**
 * Sends an authorization response (code or error) to the client in the request's response mode.
 * Query mode is a 303 to the redirect_uri with the parameters in its query. Headers already set
 * on `c` (the single sign-on cookie) go out with either.
 * @param issuer our issuer, added as `iss`.
 */
export function authorizationResponse(
  c: Context,
  issuer: string,
  target: ResponseTarget,
  params: Record<string, string | undefined>,
): Response | Promise<Response> {
  const all = { ...params, state: target.state, iss: issuer };
  // Through the context, so what the handler set on it (the browser session's cookie) is kept.
  if (target.response_mode === 'form_post') return formPostResponse(target.redirect_uri, all).then((page) => c.newResponse(page.body, page));
  c.header('Cache-Control', 'no-store');
  return c.redirect(redirectTo(target.redirect_uri, all), 303);
}

/**
 * The same response after a form on our own page (the login page's "Cancel and return" or "Back
 * to the service"): browsers apply that page's `form-action 'self'` to redirects too, so query
 * mode leaves by a meta refresh (and a visible link) instead of a 303.
 */
export async function authorizationResponseAfterForm(
  issuer: string,
  target: ResponseTarget,
  params: Record<string, string | undefined>,
  lang: string,
): Promise<Response> {
  const all = { ...params, state: target.state, iss: issuer };
  if (target.response_mode === 'form_post') return formPostResponse(target.redirect_uri, all, lang);
  const url = redirectTo(target.redirect_uri, all);
  const label = lang === 'cs' ? 'Pokračovat ke službě' : 'Continue to the service';
  const html = htmlDocument(
    label,
    `<main><p><a class="button" href="${escapeHtml(url)}" data-hand-back="">${escapeHtml(label)}</a></p></main>`,
    lang,
  ).replace('</title>', `</title>\n<meta http-equiv="refresh" content="0;url=${escapeHtml(url)}">`);
  const csp = ["default-src 'none'", `style-src ${await styleSource(html)}`, "form-action 'none'"];
  return new Response(html, { status: 200, headers: handBackHeaders(csp) });
}
