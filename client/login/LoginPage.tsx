import { messages, type Messages } from '../shared/i18n.ts';
import {
  formatRemaining,
  isFinal,
  isoDuration,
  LOW_TIME_MS,
  statusSentence,
  viewOf,
  type LoginState,
  type LoginView,
  type PageText,
} from './model.ts';
import { Qr } from '../shared/Qr.tsx';
import type { LoginSnapshot } from '../../src/session/types.ts';

export { LOW_TIME_MS };

/**
 * The hosted login page's card, rendered by the Worker (server only: the browser runs no
 * framework). The first HTML shows the login's current state; the page script
 * (client/login/main.ts) then follows it live on this markup: the countdown, the QR's frames,
 * the live region, and — on a change of state — the panel of the new state, cloned from the
 * `<template>` {@link LoginTemplates} rendered beside the card.
 *
 * The QR shows `view.loginUrl`, which changes every second while the page's WebSocket is live
 * (each snapshot pushed carries the current frame and the next ones, drawn by the server, with
 * the server time each begins: src/session/rotation.ts); the same-device button opens
 * `view.launchUrl` (a single-use token, stable).
 *
 * DOM hooks for tests: `[data-login]` carries `data-state` (the login state),
 * `data-connection` (connecting | live | lost | idle) and, once the script runs, `data-hydrated`; `[data-qr]` is the QR `<svg>`; `[data-launch]`
 * the same-device link; `[data-remaining]` the countdown; `[data-restart]` the "Start again"
 * form; `[data-match-number]` the number to pick on the phone (number matching); `[data-return]` the form back to the service (cancel while open, back once ended); `[data-continue]` the link onwards after approval; `[data-steps=desktop|phone]` the steps.
 */
export function LoginPage(props: { initial: LoginSnapshot; locale: string }) {
  const t = messages(props.locale);
  const view = viewOf(props.initial);
  const remaining = props.initial.expiresAt - props.initial.now;
  const lowTime = view.showCountdown && remaining <= LOW_TIME_MS;
  return (
    <div class="login" data-login="" data-state={view.state} data-connection="connecting">
      <p class="service">
        {t.signingInTo} <strong data-service="">{view.serviceName}</strong>
      </p>
      <h1>{t.title}</h1>
      <p class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-status="">
        {statusText(t, view, lowTime)}
      </p>
      <div class="connection" aria-live="polite" data-connection-notice="" />
      {view.showCountdown ? (
        <p class={`countdown${lowTime ? ' countdown-low' : ''}`} role="timer" aria-live="off">
          <ClockIcon />
          <span>{remaining > 0 ? t.expiresIn : t.expired}</span>{' '}
          <time dateTime={isoDuration(remaining)} data-remaining="">
            {formatRemaining(remaining)}
          </time>
        </p>
      ) : null}
      <StateView t={t} view={view} />
    </div>
  );
}

/** The states a login in `state` can still move to (none once final; src/session/machine.ts). */
export function reachableStates(state: LoginState): LoginState[] {
  if (state === 'pending') return ['scanned', 'approved', 'denied', 'expired', 'cancelled'];
  if (state === 'scanned') return ['approved', 'denied', 'expired', 'cancelled'];
  return [];
}

/**
 * The snapshot the login object will send for `state`, as far as the page shows it: its links
 * follow LoginSession's snapshot (`/login/<id>/continue` once approved, `…/restart` once ended
 * without approval, the return form unless approved; test/worker/page.test.ts compares them).
 * While scanned the match number is a placeholder the script replaces (or removes).
 */
function projected(snapshot: LoginSnapshot, state: LoginState): LoginSnapshot {
  const page = `/login/${snapshot.id}`;
  const ended = state === 'denied' || state === 'expired' || state === 'cancelled';
  return {
    type: 'snapshot',
    id: snapshot.id,
    state,
    expiresAt: snapshot.expiresAt,
    now: snapshot.now,
    client: snapshot.client,
    locale: snapshot.locale,
    ...(state === 'approved' ? { continueUrl: `${page}/continue` } : {}),
    ...(ended ? { restartUrl: `${page}/restart` } : {}),
    ...(state !== 'approved' && snapshot.returnUrl ? { returnUrl: snapshot.returnUrl } : {}),
    ...(state === 'scanned' ? { matchNumber: 10 } : {}),
  };
}

/**
 * One `<template data-view="<state>">` per state the login can still reach, each holding what
 * {@link LoginPage} shows below the countdown in that state (its panel, and the cancel form
 * while scanned), in the page's language: the script swaps it in when the state changes, so it
 * carries no markup or strings of its own. Nothing for a login that has ended.
 */
export function LoginTemplates(props: { snapshot: LoginSnapshot; locale: string }) {
  const t = messages(props.locale);
  return (
    <>
      {reachableStates(props.snapshot.state).map((state) => (
        <template data-view={state}>
          <StateView t={t} view={viewOf(projected(props.snapshot, state))} />
        </template>
      ))}
    </>
  );
}

/** The sentences the page script needs, in the page's language (client/login/model.ts). */
export function pageText(t: Messages, serviceName: string): PageText {
  return {
    status: {
      pending: t.status.pending,
      scanned: t.status.scanned,
      approved: t.status.approved(serviceName),
      denied: t.status.denied,
      expired: t.status.expired,
      cancelled: t.status.cancelled,
    },
    lowTime: t.status.lowTime,
    matchNumber: t.matchNumberStatus('{n}'),
    lost: t.connection.lost,
    expired: t.expired,
  };
}

/**
 * What the polite live region says for a state: one sentence per state, plus a single warning
 * when little time is left (never the countdown's ticks).
 * @param lowTime whether less than {@link LOW_TIME_MS} remain on a pending or scanned login.
 */
export function statusText(t: Messages, view: LoginView, lowTime = false): string {
  return statusSentence(pageText(t, view.serviceName), view, lowTime);
}

/** What a state shows below the countdown: the QR and steps while pending, else its panel; the cancel form while open. */
function StateView(props: { t: Messages; view: LoginView }) {
  const { t, view } = props;
  return (
    <>
      {view.state === 'pending' && view.loginUrl ? (
        <Pending t={t} view={view} loginUrl={view.loginUrl} launchUrl={view.launchUrl} />
      ) : (
        <Panel t={t} view={view} />
      )}
      {view.returnUrl && !isFinal(view.state) ? (
        <ReturnForm action={view.returnUrl} label={t.cancelAndReturn(view.serviceName)} secondary />
      ) : null}
    </>
  );
}

function Pending(props: { t: Messages; view: LoginView; loginUrl: string; launchUrl: string | undefined }) {
  const { t } = props;
  return (
    <div class="pending">
      <div class="instructions">
        <ol class="steps steps-desktop" aria-label={t.steps.listLabel} data-steps="desktop">
          <li>{t.steps.openApp}</li>
          <li>{t.steps.scan}</li>
          <li>{t.steps.confirm}</li>
        </ol>
        <ol class="steps steps-phone" aria-label={t.steps.listLabel} data-steps="phone">
          <li>{t.steps.phoneLaunch}</li>
          <li>{t.steps.phoneConfirm}</li>
        </ol>
        {props.launchUrl ? (
          <div class="launch">
            <p class="launch-hint">{t.launchHint}</p>
            <a class="button button-launch" href={props.launchUrl} data-launch="">
              <PhoneIcon />
              <span>{t.launch}</span>
            </a>
          </div>
        ) : null}
      </div>
      <figure class="qr-figure">
        <p class="qr-other">{t.qrOtherPhone}</p>
        <div class="qr-frame">
          <Qr text={props.loginUrl} label={t.qrLabel(props.view.serviceName)} />
        </div>
        <figcaption class="qr-caption">{t.qrCaption}</figcaption>
      </figure>
    </div>
  );
}

function Panel(props: { t: Messages; view: LoginView }) {
  const { t, view } = props;
  if (view.state === 'pending') return null; // pending without a login URL: nothing to show yet
  const tone = view.state === 'approved' ? 'success' : view.state === 'scanned' ? 'info' : 'ended';
  return (
    <section class={`panel panel-${tone}`} aria-labelledby="panel-heading" data-panel={view.state}>
      <div class="panel-icon" aria-hidden="true">
        {view.state === 'scanned' ? <PhoneIcon /> : view.state === 'approved' ? <CheckIcon /> : <StopIcon />}
      </div>
      <h2 id="panel-heading" tabIndex={-1}>
        {t.headings[view.state]}
      </h2>
      <p>{panelBody(t, view)}</p>
      {view.matchNumber !== undefined ? (
        <div class="match-number">
          <p class="match-number-label">{t.matchNumberLabel}</p>
          <p class="match-number-value" data-match-number="">
            {String(view.matchNumber)}
          </p>
        </div>
      ) : null}
      {view.state === 'approved' && view.continueUrl ? (
        <a class="button" href={view.continueUrl} data-continue="">
          {t.continue}
        </a>
      ) : null}
      {view.restartUrl || view.returnUrl ? (
        <div class="panel-actions">
          {view.restartUrl ? (
            <form method="post" action={view.restartUrl} data-restart="">
              <button class="button" type="submit">
                {t.startAgain}
              </button>
            </form>
          ) : null}
          {view.returnUrl ? <ReturnForm action={view.returnUrl} label={t.backTo(view.serviceName)} secondary /> : null}
        </div>
      ) : null}
    </section>
  );
}

/** A plain form back to the service (no script needed): the server answers it with an OAuth error. */
function ReturnForm(props: { action: string; label: string; secondary?: boolean }) {
  return (
    <form method="post" action={props.action} data-return="">
      <button class={props.secondary ? 'button button-secondary' : 'button'} type="submit">
        {props.label}
      </button>
    </form>
  );
}

function panelBody(t: Messages, view: LoginView): string {
  switch (view.state) {
    case 'scanned':
      return t.scannedBody;
    case 'approved':
      return t.approvedBody(view.serviceName);
    case 'denied':
      return t.deniedBody;
    case 'expired':
      return t.expiredBody;
    default:
      return t.cancelledBody;
  }
}

function ClockIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
      <path d="M12 7v5l3 2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    </svg>
  );
}

function PhoneIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <rect x="6" y="2.5" width="12" height="19" rx="2.5" fill="none" stroke="currentColor" stroke-width="2" />
      <path d="M10.5 18.5h3" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    </svg>
  );
}

function CheckIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">
      <path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

function StopIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
      <path d="M12 7.5v5.5M12 16.5v.5" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" />
    </svg>
  );
}
