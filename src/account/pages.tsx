/**
 * The account's server-rendered pages (Preact to string: every value is escaped). Security
 * headers and CSP are the login page's (src/login/html.tsx); no script: everything is a plain
 * form, so the account works without JavaScript. Styles: /static/console.css and /static/account.css.
 */
import type { Context } from 'hono';
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Locale } from '../../client/shared/i18n.ts';
import type { FirstPartySession } from '../first-party/sessions.ts';
import { htmlSecurityHeaders } from '../login/html.tsx';
import type { AccountMessages } from './i18n.ts';

/** What every account page knows about its request. */
export interface AccountPage {
  locale: Locale;
  t: AccountMessages;
  session: FirstPartySession | null;
  /** The person's display name (from D1), when logged in. */
  name?: string;
  /** The current path, for the language switch. */
  path: string;
}

/** The hidden CSRF field every form of a session carries. */
export function Csrf({ page }: { page: AccountPage }): VNode | null {
  return page.session ? <input type="hidden" name="csrf" value={page.session.csrf} /> : null;
}

function Layout({ page, title, children }: { page: AccountPage; title: string; children: ComponentChildren }) {
  const { t, session } = page;
  const here = (path: string) => (page.path === path ? { 'aria-current': 'page' as const } : {});
  return (
    <html lang={page.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${title} · ${t.title}`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/console.css" />
        <link rel="stylesheet" href="/static/account.css" />
      </head>
      <body class="account">
        <header class="bar">
          <a class="brand" href="/account">{t.title}</a>
          {session ? (
            <nav>
              <a href="/account" {...here('/account')}>{t.keysNav}</a>
              <a href="/account/history" {...here('/account/history')}>{t.historyNav}</a>
              <a href="/account/consents" {...here('/account/consents')}>{t.consentsNav}</a>
            </nav>
          ) : null}
          <span class="who">
            {page.locale === 'cs' ? <a href={`${page.path}?lang=en`} hreflang="en">English</a> : <a href={`${page.path}?lang=cs`} hreflang="cs">Čeština</a>}
            {session ? (
              <form method="post" action="/account/logout">
                <Csrf page={page} />
                {page.name ? <span id="person">{page.name}</span> : null}
                <button type="submit" id="logout">{t.logout}</button>
              </form>
            ) : null}
          </span>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

/** Sends an account page with the login page's security headers (CSP, no-store, no framing). */
export function sendPage(c: Context, page: AccountPage, title: string, body: ComponentChildren, status: ContentfulStatusCode = 200): Response {
  const html = `<!doctype html>\n${renderToString(<Layout page={page} title={title}>{body}</Layout>)}`;
  return c.body(html, status, htmlSecurityHeaders());
}

/** A page with one message (CSRF refused, not found, bad input, login failed). */
export function messagePage(c: Context, page: AccountPage, status: ContentfulStatusCode, text: string): Response {
  return sendPage(c, page, text, <p class="message error" id="message">{text}</p>, status);
}

/** Epoch milliseconds as a date and time in Prague, in the page's language. */
export function formatAt(ms: number, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'cs-CZ', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Prague' }).format(ms);
}

/** "Praha, CZ" from a parsed requester, or null. */
export function formatPlace(r: { city?: string; country?: string }): string | null {
  return [r.city, r.country].filter(Boolean).join(', ') || null;
}

/** "Chrome 131 on Windows 10" from a parsed requester, or null. */
export function formatBrowser(r: { browser?: string; os?: string }, t: AccountMessages): string | null {
  if (r.browser && r.os) return t.on(r.browser, r.os);
  return r.browser ?? r.os ?? null;
}
