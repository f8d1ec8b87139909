import { useEffect, useRef, useState } from 'preact/hooks';
import { messages, type Messages } from '../shared/i18n.ts';
import { browserDeps, LoginConnection } from './connection.ts';
import {
  clockOffset,
  formatRemaining,
  isFinal,
  isoDuration,
  mergeSnapshot,
  remainingMs,
  viewOf,
  type ConnectionStatus,
  type LoginView,
} from './model.ts';
import { Qr } from '../shared/Qr.tsx';
import type { LoginSnapshot } from '../../src/session/types.ts';

/** How often the countdown re-renders, in ms (it shows whole seconds). */
const TICK_MS = 250;
/** Below this many ms left, the page says once (politely) that time is running out. */
export const LOW_TIME_MS = 30_000;
/** A connection down for less than this (ms) is not worth alarming anyone about. */
const LOST_NOTICE_DELAY_MS = 2000;
/** After the countdown reaches zero, how often to ask for the expired snapshot, in ms. */
const EXPIRY_RECHECK_MS = 2000;

/**
 * The hosted login page's card: rendered by the Worker into the first HTML response and
 * hydrated in the browser with the same props, where it follows the login live.
 *
 * The QR shows `view.loginUrl`, which changes every second while the page's WebSocket is live
 * (each snapshot pushed carries the current frame and the next ones with the server time each
 * begins, src/session/rotation.ts); the same-device button
 * opens `view.launchUrl` (a single-use token, stable).
 *
 * DOM hooks for tests: `[data-login]` carries `data-state` (the login state),
 * `data-connection` (connecting | live | lost | idle) and, once the script runs, `data-hydrated`; `[data-qr]` is the QR `<svg>`; `[data-launch]`
 * the same-device link; `[data-remaining]` the countdown; `[data-restart]` the "Start again"
 * form; `[data-match-number]` the number to pick on the phone (number matching); `[data-return]` the form back to the service (cancel while open, back once ended); `[data-continue]` the link onwards after approval; `[data-steps=desktop|phone]` the steps.
 */
export function LoginPage(props: { initial: LoginSnapshot; locale: string }) {
  const t = messages(props.locale);
  const [snapshot, setSnapshot] = useState(props.initial);
  const [connection, setConnection] = useState<ConnectionStatus>('connecting');
  const [showLost, setShowLost] = useState(false);
  const [hydrated, setHydrated] = useState(false);
  const [remaining, setRemaining] = useState(props.initial.expiresAt - props.initial.now);
  const offset = useRef(0);
  const link = useRef<LoginConnection | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Re-rendered at least every TICK_MS while pending (the countdown), so each frame shows in its second.
  const view = viewOf(snapshot, hydrated ? Date.now() + offset.current : snapshot.now);

  // The live connection (browser only: effects do not run during server rendering).
  useEffect(() => {
    offset.current = clockOffset(props.initial.now, Date.now());
    const connectionToLogin = new LoginConnection(
      location.href,
      props.initial.id,
      {
        snapshot: (next) => {
          offset.current = clockOffset(next.now, Date.now());
          setSnapshot((current) => mergeSnapshot(current, next));
        },
        status: setConnection,
      },
      browserDeps(),
    );
    link.current = connectionToLogin;
    setHydrated(true);
    // A login that has already ended needs no connection: nothing about it can change.
    if (isFinal(props.initial.state)) setConnection('idle');
    else connectionToLogin.start();
    const online = () => connectionToLogin.reconnectNow();
    const visible = () => {
      if (document.visibilityState === 'visible') {
        connectionToLogin.reconnectNow();
        connectionToLogin.refresh();
      }
    };
    addEventListener('online', online);
    document.addEventListener('visibilitychange', visible);
    return () => {
      connectionToLogin.stop();
      removeEventListener('online', online);
      document.removeEventListener('visibilitychange', visible);
    };
  }, []);

  // Say the connection is lost only when it stays lost (a quick reconnect is silent).
  useEffect(() => {
    if (connection !== 'lost') {
      setShowLost(false);
      return;
    }
    const timer = setTimeout(() => setShowLost(true), LOST_NOTICE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [connection]);

  // The countdown, from the server's clock.
  useEffect(() => {
    if (!view.showCountdown) return;
    const tick = () => setRemaining(remainingMs(snapshot.expiresAt, Date.now(), offset.current));
    tick();
    const timer = setInterval(tick, TICK_MS);
    return () => clearInterval(timer);
  }, [view.showCountdown, snapshot.expiresAt]);

  // At zero the server's alarm expires the login; ask for the result in case its push is lost.
  const timeUp = view.showCountdown && remaining <= 0;
  useEffect(() => {
    if (!timeUp) return;
    link.current?.refresh();
    const timer = setInterval(() => link.current?.refresh(), EXPIRY_RECHECK_MS);
    return () => clearInterval(timer);
  }, [timeUp]);

  // Approved: on to the relying service (a same-origin path only).
  useEffect(() => {
    const next = view.continueUrl;
    if (next && next.startsWith('/') && !next.startsWith('//')) location.assign(next);
  }, [view.continueUrl]);

  // When the element holding focus disappears with a state change, focus the new panel's heading.
  const firstState = useRef(snapshot.state);
  useEffect(() => {
    if (snapshot.state === firstState.current) return;
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected) headingRef.current?.focus();
  }, [snapshot.state]);

  const final = isFinal(view.state);
  const lowTime = view.showCountdown && remaining <= LOW_TIME_MS;
  return (
    <div
      class="login"
      data-login=""
      data-state={view.state}
      data-connection={connection}
      data-hydrated={hydrated ? '' : undefined}
    >
      <p class="service">
        {t.signingInTo} <strong data-service="">{view.serviceName}</strong>
      </p>
      <h1>{t.title}</h1>
      <p class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-status="">
        {statusText(t, view, lowTime)}
      </p>
      <div class="connection" aria-live="polite" data-connection-notice="">
        {showLost && !final ? <p class="notice">{t.connection.lost}</p> : null}
      </div>
      {view.showCountdown ? (
        <p class={`countdown${lowTime ? ' countdown-low' : ''}`} role="timer" aria-live="off">
          <ClockIcon />
          <span>{remaining > 0 ? t.expiresIn : t.expired}</span>{' '}
          <time dateTime={isoDuration(remaining)} data-remaining="">
            {formatRemaining(remaining)}
          </time>
        </p>
      ) : null}
      {view.state === 'pending' && view.loginUrl ? (
        <Pending t={t} view={view} loginUrl={view.loginUrl} launchUrl={view.launchUrl} />
      ) : (
        <Panel t={t} view={view} headingRef={headingRef} />
      )}
      {view.returnUrl && (view.state === 'pending' || view.state === 'scanned') ? (
        <ReturnForm action={view.returnUrl} label={t.cancelAndReturn(view.serviceName)} secondary />
      ) : null}
    </div>
  );
}

/**
 * What the polite live region says for a state: one sentence per state, plus a single warning
 * when little time is left (never the countdown's ticks).
 * @param lowTime whether less than {@link LOW_TIME_MS} remain on a pending or scanned login.
 */
export function statusText(t: Messages, view: LoginView, lowTime = false): string {
  switch (view.state) {
    case 'pending':
      return lowTime ? `${t.status.pending} ${t.status.lowTime}` : t.status.pending;
    case 'scanned': {
      const text = view.matchNumber === undefined ? t.status.scanned : `${t.status.scanned} ${t.matchNumberStatus(view.matchNumber)}`;
      return lowTime ? `${text} ${t.status.lowTime}` : text;
    }
    case 'approved':
      return t.status.approved(view.serviceName);
    default:
      return t.status[view.state];
  }
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

function Panel(props: { t: Messages; view: LoginView; headingRef: { current: HTMLHeadingElement | null } }) {
  const { t, view } = props;
  if (view.state === 'pending') return null; // pending without a login URL: nothing to show yet
  const tone = view.state === 'approved' ? 'success' : view.state === 'scanned' ? 'info' : 'ended';
  return (
    <section class={`panel panel-${tone}`} aria-labelledby="panel-heading" data-panel={view.state}>
      <div class="panel-icon" aria-hidden="true">
        {view.state === 'scanned' ? <PhoneIcon /> : view.state === 'approved' ? <CheckIcon /> : <StopIcon />}
      </div>
      <h2 id="panel-heading" tabIndex={-1} ref={props.headingRef}>
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
