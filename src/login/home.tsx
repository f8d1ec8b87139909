/**
 * The service's front page (`GET /`): what this is and where to go — the demo relying service,
 * the mobile key web app, how to create a mobile key, and the OpenID Provider metadata.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { getCookie } from 'hono/cookie';
import { chooseLocale, isLocale, type Locale } from '../../client/shared/i18n.ts';
import { sendHtml } from './html.tsx';
import { ErrorBody, HELP_PATH, Shell } from './pages.tsx';

const TEXT = {
  cs: {
    title: 'Přihlášení mobilním klíčem',
    lead: 'Hostovaná přihlašovací služba: do webové služby se přihlásíte naskenováním QR kódu telefonem s mobilním klíčem. Služby se připojují přes OpenID Connect.',
    links: [
      ['/demo', 'Vyzkoušet ukázkovou službu', 'Přihlášení od začátku do konce: QR kód, schválení v telefonu, návrat do služby.'],
      ['/key/', 'Mobilní klíč v prohlížeči', 'Telefon (nebo druhý panel prohlížeče) jako mobilní klíč, bez instalace.'],
      [HELP_PATH, 'Vytvořit mobilní klíč', 'Jak připojit mobilní klíč k vaší identitě.'],
      ['/.well-known/openid-configuration', 'Pro vývojáře služeb', 'Metadata poskytovatele OpenID Connect.'],
    ],
  },
  en: {
    title: 'Log in with a mobile key',
    lead: 'A hosted login service: you sign in to a website by scanning a QR code with a phone that holds your mobile key. Services connect over OpenID Connect.',
    links: [
      ['/demo', 'Try the demo service', 'A whole login: the QR code, approval on the phone, back to the service.'],
      ['/key/', 'The mobile key in a browser', 'A phone (or a second browser tab) as a mobile key, nothing to install.'],
      [HELP_PATH, 'Create a mobile key', 'How to connect a mobile key to your identity.'],
      ['/.well-known/openid-configuration', 'For service developers', 'The OpenID Connect provider metadata.'],
    ],
  },
} as const satisfies Record<Locale, unknown>;

const NOT_FOUND = {
  cs: { title: 'Stránka nenalezena', body: 'Tato stránka neexistuje.', home: 'Na úvodní stránku' },
  en: { title: 'Page not found', body: 'This page does not exist.', home: 'To the front page' },
} as const satisfies Record<Locale, unknown>;

function localeOf(c: Context): Locale {
  const query = c.req.query('lang');
  return chooseLocale({
    query: isLocale(query) ? query : undefined,
    cookie: getCookie(c, 'lang'),
    acceptLanguage: c.req.header('Accept-Language'),
  });
}

/**
 * True for a browser navigating to a page (it asks for HTML), as opposed to an API client:
 * unknown paths answer browsers with a page and everyone else with problem+json.
 */
export function wantsHtml(c: Context): boolean {
  return c.req.method === 'GET' && (c.req.header('Accept') ?? '').includes('text/html');
}

/**
 * The language switch of a page whose path we did not build (a 404, a refusal): a query-only
 * relative reference (RFC 3986 §4.2), which resolves against the current URL and so can never
 * leave our origin, whatever the path was (`//evil.example/x` included).
 */
export function sameLanguageLink(locale: Locale): string {
  return `?lang=${locale}`;
}

/**
 * A refusal shown to a browser that navigated to an endpoint (e.g. `/login/:id/continue`):
 * the problem's title and public detail as a page, with its status.
 */
export function problemPage(c: Context, problem: { status: number; message: string; detail?: string | undefined }): Response {
  const locale = localeOf(c);
  return sendHtml(
    c,
    {
      lang: locale,
      title: problem.message,
      body: (
        <ErrorBody
          locale={locale}
          title={problem.message}
          body={problem.detail ?? problem.message}
          back={{ href: '/', label: NOT_FOUND[locale].home }}
          switchHref={sameLanguageLink}
        />
      ),
    },
    problem.status as ContentfulStatusCode,
  );
}

/** The 404 page for a browser, in the visitor's language, with a way to the front page. */
export function notFoundPage(c: Context): Response {
  const locale = localeOf(c);
  const t = NOT_FOUND[locale];
  return sendHtml(
    c,
    {
      lang: locale,
      title: t.title,
      body: (
        <ErrorBody
          locale={locale}
          title={t.title}
          body={t.body}
          back={{ href: '/', label: t.home }}
          switchHref={sameLanguageLink}
        />
      ),
    },
    404,
  );
}

/** `GET /`: the front page, in Czech unless `?lang=en`, the `lang` cookie or the browser says otherwise. */
export const homePage = new Hono<{ Bindings: Env }>();

homePage.get('/', (c) => {
  const locale = localeOf(c);
  const t = TEXT[locale];
  return sendHtml(c, {
    lang: locale,
    title: t.title,
    body: (
      <Shell locale={locale} switchHref={(l) => `/?lang=${l}`}>
        <article class="card card-help" data-home="">
          <h1>{t.title}</h1>
          <p class="lead">{t.lead}</p>
          <ul class="home-links">
            {t.links.map(([href, label, description]) => (
              <li>
                <a href={href}>{label}</a>
                <p>{description}</p>
              </li>
            ))}
          </ul>
        </article>
      </Shell>
    ),
  });
});
