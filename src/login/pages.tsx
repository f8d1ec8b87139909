/**
 * Server-only page parts: the frame every hosted page shares (brand, language switch, footer),
 * the login page document, error pages and the "Create a mobile key" help page.
 */
import type { ComponentChildren } from 'preact';
import { LOCALES, messages, type Locale, type Messages } from '../../client/shared/i18n.ts';
import { LoginPage, LoginTemplates, pageText } from '../../client/login/LoginPage.tsx';
import { embedJson, type PageState } from '../../client/login/model.ts';
import { LOGIN_ID } from '../session/stub.ts';
import { pageAssets } from './assets.ts';
import type { LoginSnapshot } from '../session/types.ts';

/** Path of the page explaining how to create (enrol) a mobile key. */
export const HELP_PATH = '/create-mobile-key';

/**
 * The frame of a hosted page: a banner with the brand and the language switch, the main
 * landmark, and a footer.
 * @param switchHref the URL of this page in another language.
 */
export function Shell(props: { locale: Locale; switchHref: (locale: Locale) => string; children: ComponentChildren }) {
  const t = messages(props.locale);
  return (
    <>
      <header class="topbar">
        <div class="topbar-inner">
          <span class="brand">
            <KeyMark />
            <span>{t.brand}</span>
          </span>
          <nav class="langs" aria-label={t.languageSwitchLabel}>
            {LOCALES.filter((l) => l !== props.locale).map((l) => (
              <a href={props.switchHref(l)} lang={l} hreflang={l} data-lang={l}>
                {messages(l).languageName}
              </a>
            ))}
          </nav>
        </div>
      </header>
      <main id="main" class="main">
        {props.children}
      </main>
      <footer class="footer">
        <p>{t.footer}</p>
      </footer>
    </>
  );
}

/**
 * The hosted login page's body: the card in the login's current state, the panels of the
 * states it can still reach (`<template>`s), the snapshot and this language's sentences for the
 * script (`#login-state`), and the script (client/login/main.ts).
 */
export function LoginDocumentBody(props: { snapshot: LoginSnapshot; locale: Locale }) {
  const t = messages(props.locale);
  const state: PageState = { snapshot: props.snapshot, text: pageText(t, props.snapshot.client.name) };
  const page = `/login/${props.snapshot.id}`;
  return (
    <Shell locale={props.locale} switchHref={(l) => `${page}?lang=${l}`}>
      <div class="card">
        <div id="login-root">
          <LoginPage initial={props.snapshot} locale={props.locale} />
        </div>
      </div>
      <p class="aside">
        {t.noMobileKey}{' '}
        <a href={`${HELP_PATH}?from=${props.snapshot.id}`} data-create-key="">
          {t.createMobileKey}
        </a>
      </p>
      <LoginTemplates snapshot={props.snapshot} locale={props.locale} />
      <script type="application/json" id="login-state" dangerouslySetInnerHTML={{ __html: embedJson(state) }} />
      <script type="module" src={pageAssets().script} />
    </Shell>
  );
}

/** A page that explains a refusal in words, with a way back when there is one. */
export function ErrorBody(props: {
  locale: Locale;
  title: string;
  body: string;
  switchHref: (locale: Locale) => string;
  back?: { href: string; label: string } | undefined;
}) {
  const t = messages(props.locale);
  return (
    <Shell locale={props.locale} switchHref={props.switchHref}>
      <div class="card card-narrow" data-error="">
        <h1>{props.title}</h1>
        <p>{props.body}</p>
        {props.back ? (
          <p>
            <a class="button" href={props.back.href}>
              {props.back.label}
            </a>
          </p>
        ) : (
          <p class="muted">{t.errors.backHint}</p>
        )}
      </div>
    </Shell>
  );
}

/**
 * "Create a mobile key": what a mobile key is and the ways to enrol one.
 * @param from a login id to offer a way back to (ignored unless it is one).
 */
export function HelpBody(props: { locale: Locale; from?: string | undefined }) {
  const t = messages(props.locale);
  const from = props.from && LOGIN_ID.test(props.from) ? props.from : undefined;
  const query = from ? `&from=${from}` : '';
  return (
    <Shell locale={props.locale} switchHref={(l) => `${HELP_PATH}?lang=${l}${query}`}>
      <article class="card card-help" data-help="">
        <h1>{t.help.title}</h1>
        <p class="lead">{t.help.intro}</p>
        <h2>{t.help.waysHeading}</h2>
        <HelpWay title={t.help.activationTitle} steps={t.help.activationSteps} />
        <HelpWay title={t.help.pairingTitle} steps={t.help.pairingSteps} />
        <h2>{t.help.safetyHeading}</h2>
        <ul class="safety">
          {t.help.safety.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
        <p class="help-actions">
          <a class="button" href="/key/">
            {t.help.openApp}
          </a>
          {from ? (
            <a class="button button-secondary" href={`/login/${from}`} data-back-to-login="">
              {t.help.backToLogin}
            </a>
          ) : null}
        </p>
      </article>
    </Shell>
  );
}

function HelpWay(props: { title: string; steps: string[] }) {
  return (
    <section class="way">
      <h3>{props.title}</h3>
      <ol class="steps">
        {props.steps.map((step) => (
          <li>{step}</li>
        ))}
      </ol>
    </section>
  );
}

/** The page title for a login page in a state. */
export function loginTitle(t: Messages, snapshot: LoginSnapshot): string {
  return `${t.title} · ${snapshot.client.name}`;
}

function KeyMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill="currentColor" />
      <circle cx="12" cy="16" r="5" fill="none" stroke="#ffffff" stroke-width="2.5" />
      <path d="M17 16h9M22.5 16v4M26 16v3" stroke="#ffffff" stroke-width="2.5" stroke-linecap="round" />
    </svg>
  );
}
