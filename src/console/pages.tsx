/**
 * The console's server-rendered pages (Preact to string: every value is escaped). Security
 * headers and CSP are the login page's (src/login/html.tsx); the only script is
 * /static/console.js (live figures), from our origin.
 */
import type { Context } from 'hono';
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Locale } from '../../client/shared/i18n.ts';
import { htmlSecurityHeaders } from '../login/html.tsx';
import type { ConsoleMessages } from './i18n.ts';
import type { ConsoleSession } from './session.ts';

/** What every console page knows about its request. */
export interface PageContext {
  locale: Locale;
  t: ConsoleMessages;
  session: ConsoleSession | null;
  /** The current path, for the language switch. */
  path: string;
  /** The request carried the cookie of a session that has ended (e.g. after inactivity). */
  ended?: boolean;
}

/** The hidden CSRF field every form of a session carries. */
export function Csrf({ session }: { session: ConsoleSession | null }): VNode | null {
  return session ? <input type="hidden" name="csrf" value={session.csrf} /> : null;
}

function Layout({ page, title, children, script }: { page: PageContext; title: string; children: ComponentChildren; script?: boolean }) {
  const { t, session } = page;
  return (
    <html lang={page.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${title} · ${t.title}`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/console.css" />
        {script ? <script type="module" src="/static/console.js" /> : null}
      </head>
      <body>
        <header class="bar">
          <a class="brand" href="/console">{t.title}</a>
          {session ? (
            <nav>
              <a href="/console/counter">{t.counter}</a>
              {session.role === 'admin' ? (
                <>
                  <a href="/console/clients">{t.clients}</a>
                  <a href="/console/audit">{t.audit}</a>
                  <a href="/console/figures">{t.figures}</a>
                </>
              ) : null}
            </nav>
          ) : null}
          <span class="who">
            {page.locale === 'cs' ? <a href={`${page.path}?lang=en`} hreflang="en">English</a> : <a href={`${page.path}?lang=cs`} hreflang="cs">Čeština</a>}
            {session ? (
              <form method="post" action="/console/logout">
                <Csrf session={session} />
                <span id="operator">{session.role === 'admin' ? t.roleAdmin : t.roleClerk}</span>
                <button type="submit">{t.logout}</button>
              </form>
            ) : null}
          </span>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

/**
 * Sends a console page with the login page's security headers (CSP, no-store, no framing).
 * @param status 200 unless an error page.
 */
export function sendPage(
  c: Context,
  page: PageContext,
  title: string,
  body: ComponentChildren,
  options: { status?: ContentfulStatusCode; script?: boolean } = {},
): Response {
  const html = `<!doctype html>\n${renderToString(<Layout page={page} title={title} script={options.script ?? false}>{body}</Layout>)}`;
  return c.body(html, options.status ?? 200, htmlSecurityHeaders());
}

/** A page with one message (forbidden, CSRF refused, login failed). */
export function messagePage(c: Context, page: PageContext, status: ContentfulStatusCode, text: string): Response {
  return sendPage(c, page, text, <p class="message" id="message">{text}</p>, { status });
}

/** Epoch milliseconds as a local-looking UTC time `YYYY-MM-DD HH:MM`. */
export function formatAt(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
