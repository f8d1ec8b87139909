/**
 * The pages of the end-session endpoint (RP-Initiated Logout 1.0 §2–§4, Front-Channel Logout
 * 1.0 §4): the confirmation ("Do you want to log out?"), the logged-out page with the hidden
 * front-channel iframes and the way on to the service, and the refusal. Czech and English.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Locale } from '../../client/shared/i18n.ts';
import { htmlSecurityHeaders, renderDocument } from '../login/html.tsx';
import { Shell } from '../login/pages.tsx';
import { logoutContentSecurityPolicy } from './frontchannel.ts';

const TEXT = {
  cs: {
    confirmTitle: 'Odhlásit se?',
    confirmBody: 'Chcete se odhlásit z přihlašovací služby mobilního klíče? Odhlásíte se tím i ze služeb, do kterých jste se jí přihlásili.',
    confirmFrom: (name: string) => `Odhlášení žádá služba ${name}.`,
    unregistered: 'Služba, která vás sem poslala, neuvedla zaregistrovanou zpáteční adresu: po odhlášení vás na ni nepřesměrujeme.',
    confirm: 'Odhlásit se',
    cancel: 'Zůstat přihlášen',
    doneTitle: 'Jste odhlášeni',
    doneBody: 'Odhlásili jste se z přihlašovací služby mobilního klíče.',
    doneServices: (n: number) => `Odhlašujeme vás také ze služeb, do kterých jste se přihlásili (${n}).`,
    continue: 'Pokračovat do služby',
    home: 'Na úvodní stránku',
    errorTitle: 'Odhlášení nelze provést',
    errorBody: 'Služba, která vás sem poslala, odeslala požadavek na odhlášení, který nemůžeme zpracovat. Nic jsme nezměnili. Vraťte se na ni a zkuste to znovu.',
    error: 'Chyba',
  },
  en: {
    confirmTitle: 'Log out?',
    confirmBody: 'Do you want to log out of the mobile key login service? This also logs you out of the services you logged in to with it.',
    confirmFrom: (name: string) => `The service ${name} asks to log you out.`,
    unregistered: 'The service that sent you here gave no registered address to return to: we will not send you there after logging out.',
    confirm: 'Log out',
    cancel: 'Stay logged in',
    doneTitle: 'You are logged out',
    doneBody: 'You have logged out of the mobile key login service.',
    doneServices: (n: number) => `We are also logging you out of the services you logged in to (${n}).`,
    continue: 'Continue to the service',
    home: 'To the front page',
    errorTitle: 'Logout request refused',
    errorBody: 'The service that sent you here made a logout request we cannot process. Nothing has changed. Go back to it and try again.',
    error: 'Error',
  },
} as const;

/**
 * The logged-out page's one inline script, allowed by its hash: once every front-channel iframe
 * has loaded (or after {@link CONTINUE_AFTER_SECONDS} at the latest) it follows the "continue"
 * link. Load events do not bubble, so it listens in the capture phase from the `<head>`.
 */
const CONTINUE_SCRIPT =
  "(()=>{let n=0;const go=()=>{const a=document.getElementById('continue');if(a)location.replace(a.href)};" +
  "const check=()=>{if(document.readyState!=='loading'&&n>=document.querySelectorAll('iframe[data-frontchannel]').length)go()};" +
  "document.addEventListener('load',(e)=>{if(e.target instanceof HTMLIFrameElement){n++;check()}},true);" +
  "document.addEventListener('DOMContentLoaded',check);setTimeout(go,4000)})()";

/** The latest the logged-out page waits for front-channel iframes before continuing, in seconds. */
export const CONTINUE_AFTER_SECONDS = 5;

let scriptHash: Promise<string> | undefined;

/** `sha256-…` of {@link CONTINUE_SCRIPT} for the CSP (CSP3 §8.4). */
export function continueScriptHash(): Promise<string> {
  scriptHash ??= crypto.subtle.digest('SHA-256', new TextEncoder().encode(CONTINUE_SCRIPT)).then((digest) => {
    let binary = '';
    for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
    return `sha256-${btoa(binary)}`;
  });
  return scriptHash;
}

function send(c: Context, lang: Locale, title: string, body: preact.VNode, csp: string, status: ContentfulStatusCode = 200, head?: preact.VNode) {
  const headers = { ...htmlSecurityHeaders(), 'Content-Security-Policy': csp };
  return c.body(renderDocument({ lang, title, body, head: head ?? null }), status, headers);
}

/** Where the language switch of a logout page goes. */
export type SwitchHref = (locale: Locale) => string;

/**
 * "Do you want to log out?": a form that POSTs back to /logout with the CSRF token and the
 * request's remembered parameters.
 * @param hidden the form fields to carry (already checked; rendered as hidden inputs).
 */
export function confirmPage(
  c: Context,
  input: { locale: Locale; clientName?: string; unregisteredUri: boolean; hidden: Record<string, string>; switchHref: SwitchHref },
): Response {
  const t = TEXT[input.locale];
  return send(
    c,
    input.locale,
    t.confirmTitle,
    <Shell locale={input.locale} switchHref={input.switchHref}>
      <div class="card card-narrow" data-logout-confirm="">
        <h1>{t.confirmTitle}</h1>
        <p>{t.confirmBody}</p>
        {input.clientName ? <p data-client="">{t.confirmFrom(input.clientName)}</p> : null}
        {input.unregisteredUri ? <p class="notice" data-unregistered-uri="">{t.unregistered}</p> : null}
        <form method="post" action="/logout">
          {Object.entries(input.hidden).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <p class="help-actions">
            <button class="button" type="submit" data-confirm-logout="">
              {t.confirm}
            </button>
            <a class="button button-secondary" href="/">
              {t.cancel}
            </a>
          </p>
        </form>
      </div>
    </Shell>,
    logoutContentSecurityPolicy([]),
  );
}

/**
 * "You are logged out", with a hidden iframe per front-channel logout URI (Front-Channel Logout
 * §4) and, when there is a post-logout redirect, a link the page follows by itself once the
 * iframes have loaded (script by hash, and a meta refresh without scripts).
 * @param frames the front-channel URLs (with iss and sid).
 * @param continueTo the post-logout URL (registered, with state), if any.
 */
export async function loggedOutPage(
  c: Context,
  input: { locale: Locale; frames: string[]; continueTo?: string | undefined; switchHref: SwitchHref },
): Promise<Response> {
  const t = TEXT[input.locale];
  const hash = input.continueTo ? await continueScriptHash() : undefined;
  const head = input.continueTo ? (
    <>
      <meta http-equiv="refresh" content={`${CONTINUE_AFTER_SECONDS};url=${input.continueTo}`} />
      <script dangerouslySetInnerHTML={{ __html: CONTINUE_SCRIPT }} />
    </>
  ) : undefined;
  return send(
    c,
    input.locale,
    t.doneTitle,
    <Shell locale={input.locale} switchHref={input.switchHref}>
      <div class="card card-narrow" data-logged-out="">
        <h1>{t.doneTitle}</h1>
        <p>{t.doneBody}</p>
        {input.frames.length ? <p data-frontchannel-count={String(input.frames.length)}>{t.doneServices(input.frames.length)}</p> : null}
        <p>
          {input.continueTo ? (
            <a class="button" id="continue" href={input.continueTo}>
              {t.continue}
            </a>
          ) : (
            <a class="button" href="/">
              {t.home}
            </a>
          )}
        </p>
        {input.frames.map((src) => (
          <iframe data-frontchannel="" src={src} hidden title="logout" width="0" height="0" />
        ))}
      </div>
    </Shell>,
    logoutContentSecurityPolicy(input.frames, hash),
    200,
    head,
  );
}

/**
 * The refusal of a bad end-session request: nothing changed, nobody redirected. Shows the
 * OAuth-style `error` code and its generic (English) description for the service's developers.
 */
export function logoutErrorPage(
  c: Context,
  input: { locale: Locale; code: string; description: string; status?: ContentfulStatusCode; switchHref: SwitchHref },
): Response {
  const t = TEXT[input.locale];
  return send(
    c,
    input.locale,
    t.errorTitle,
    <Shell locale={input.locale} switchHref={input.switchHref}>
      <div class="card card-narrow" data-error="">
        <h1>{t.errorTitle}</h1>
        <p>{t.errorBody}</p>
        <p>
          {t.error}: <code id="error">{input.code}</code>
        </p>
        <p id="error_description" lang="en">
          {input.description}
        </p>
      </div>
    </Shell>,
    logoutContentSecurityPolicy([]),
    input.status ?? 400,
  );
}
