// The hosted login page's script, in plain DOM (no framework): it follows the login live on the
// card the server rendered (client/login/LoginPage.tsx, src/login/pages.tsx). The page works
// without it, minus live updates (it reloads itself then).
//
// What it does: the countdown from the server's clock; the socket (./connection.ts), polling
// while it is down and a notice when it stays down; the QR's frames, each drawn by the server;
// the live region's sentence; on a change of state the new state's panel, cloned from its
// `<template>`, with focus moved to its heading; asking again at 0:00 until the server says
// `expired`; and, once approved, on to the service. The cancel and return forms are plain forms.
// Its words come with the page (`#login-state`), in the page's language only.
import { browserDeps, LoginConnection } from './connection.ts';
import {
  clockOffset,
  formatRemaining,
  frameAt,
  isFinal,
  isoDuration,
  LOW_TIME_MS,
  mergeSnapshot,
  remainingMs,
  statusSentence,
  viewOf,
  type ConnectionStatus,
  type PageState,
} from './model.ts';
import { drawnPath, type DrawnQr } from '../shared/qr-path.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
// Built into the page CSS the server inlines (vite.config.ts); the browser never fetches it.
import './login.css';

/** How often the countdown and the QR frame are brought up to date, in ms (they show whole seconds). */
const TICK_MS = 250;
/** A connection down for less than this (ms) is not worth alarming anyone about. */
const LOST_NOTICE_DELAY_MS = 2000;
/** After the countdown reaches zero, how often to ask for the expired snapshot, in ms. */
const EXPIRY_RECHECK_MS = 2000;

const card = document.querySelector<HTMLElement>('[data-login]');
const stateElement = document.getElementById('login-state');
if (card && stateElement) follow(card, JSON.parse(stateElement.textContent!) as PageState);

function follow(card: HTMLElement, { snapshot: first, text }: PageState): void {
  // Served by `/authorize` itself (its Content-Location names this address), the page moves the
  // address bar to its own URL: a reload or a shared link then shows this login, not another.
  const own = `/login/${first.id}`;
  if (location.pathname !== own) history.replaceState(history.state, '', own);
  const find = <T extends Element = HTMLElement>(selector: string) => card.querySelector<T>(selector);
  const status = find('[data-status]')!;
  const notice = find('[data-connection-notice]')!;
  /** The snapshot on screen, the server clock's offset, and the frame the QR shows. */
  let shown = first;
  let offset = clockOffset(first.now, Date.now());
  let frame = first.loginUrl;
  let tick: ReturnType<typeof setInterval> | undefined;
  let recheck: ReturnType<typeof setInterval> | undefined;
  let lostTimer: ReturnType<typeof setTimeout> | undefined;

  const link = new LoginConnection(location.href, first.id, { snapshot: receive, status: connection }, browserDeps());

  function receive(next: LoginSnapshot): void {
    offset = clockOffset(next.now, Date.now());
    const merged = mergeSnapshot(shown, next);
    if (merged === shown) return;
    const changed = merged.state !== shown.state;
    shown = merged;
    if (changed) swap();
    render();
  }

  /** Brings the countdown, the live region and the QR up to date (every tick, and on each snapshot). */
  function render(): void {
    const view = viewOf(shown, Date.now() + offset);
    const timer = find('[role="timer"]');
    let lowTime = false;
    if (timer) {
      const remaining = remainingMs(shown.expiresAt, Date.now(), offset);
      lowTime = remaining <= LOW_TIME_MS;
      const time = timer.querySelector('time')!;
      setText(time, formatRemaining(remaining));
      time.dateTime = isoDuration(remaining);
      timer.classList.toggle('countdown-low', lowTime);
      if (remaining <= 0) {
        setText(timer.querySelector('span')!, text.expired);
        // The server's alarm expires the login at the deadline; ask in case its push is lost.
        if (!recheck) {
          link.refresh();
          recheck = setInterval(() => link.refresh(), EXPIRY_RECHECK_MS);
        }
      }
    }
    setText(status, statusSentence(text, view, lowTime));
    const current = frameAt(shown, Date.now() + offset);
    if (view.state === 'pending' && current?.qr && current.loginUrl !== frame && draw(current.qr)) frame = current.loginUrl;
    if (isFinal(view.state)) {
      clearInterval(tick);
      clearInterval(recheck);
      clearTimeout(lostTimer);
      notice.replaceChildren();
    }
  }

  /** Shows a frame's QR: its path, and its size when that changed. */
  function draw(drawn: DrawnQr): boolean {
    const svg = find<SVGSVGElement>('svg[data-qr]');
    const drawing = svg && drawnPath(drawn);
    if (!drawing) return false;
    const box = `0 0 ${drawing.size} ${drawing.size}`;
    if (svg.getAttribute('viewBox') !== box) {
      svg.setAttribute('viewBox', box);
      for (const side of ['width', 'height']) svg.querySelector('rect')!.setAttribute(side, String(drawing.size));
    }
    svg.querySelector('path')!.setAttribute('d', drawing.path);
    return true;
  }

  /** The state changed: what followed the countdown gives way to the new state's template. */
  function swap(): void {
    const state = shown.state;
    const template = document.querySelector<HTMLTemplateElement>(`template[data-view="${state}"]`);
    // Not a state this page was rendered to reach: the server renders it.
    if (!template) return location.reload();
    card.dataset.state = state;
    const timer = find('[role="timer"]');
    const anchor = timer ?? notice;
    const view = template.content.cloneNode(true) as DocumentFragment;
    // The cancel form stays while the login is open (pending → scanned): kept, not replaced, so
    // a person whose focus is on it keeps it there.
    const cancel = card.lastElementChild;
    const kept = cancel?.matches('form[data-return]') && view.lastElementChild?.isEqualNode(cancel) ? cancel : null;
    if (kept) view.lastElementChild!.remove();
    while (anchor.nextSibling && anchor.nextSibling !== kept) anchor.nextSibling.remove();
    card.insertBefore(view, kept);
    if (isFinal(state)) timer?.remove();
    const number = find('[data-match-number]');
    const match = viewOf(shown).matchNumber;
    if (number && match === undefined) number.parentElement!.remove();
    else if (number) number.textContent = String(match);
    // The element holding focus went with the old state: focus the new panel's heading.
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected) find('#panel-heading')?.focus();
    goOn();
  }

  /** Approved: on to the relying service (a same-origin path only). */
  function goOn(): void {
    const next = viewOf(shown).continueUrl;
    if (next?.startsWith('/') && !next.startsWith('//')) location.assign(next);
  }

  /** Says the connection is lost only when it stays lost (a quick reconnect is silent). */
  function connection(state: ConnectionStatus): void {
    card.dataset.connection = state;
    clearTimeout(lostTimer);
    if (state !== 'lost') return notice.replaceChildren();
    lostTimer = setTimeout(() => {
      if (isFinal(shown.state)) return;
      const p = document.createElement('p');
      p.className = 'notice';
      p.textContent = text.lost;
      notice.replaceChildren(p);
    }, LOST_NOTICE_DELAY_MS);
  }

  card.setAttribute('data-hydrated', '');
  if (isFinal(first.state)) {
    // A login that has already ended needs no connection: nothing about it can change.
    connection('idle');
    goOn();
    return;
  }
  // A hidden page gets no QR frames, so its login can hibernate (./connection.ts setHidden).
  link.setHidden(document.visibilityState === 'hidden');
  link.start();
  tick = setInterval(render, TICK_MS);
  render();
  addEventListener('online', () => link.reconnectNow());
  document.addEventListener('visibilitychange', () => {
    const hidden = document.visibilityState === 'hidden';
    if (!hidden) link.reconnectNow();
    link.setHidden(hidden);
  });
}

/** Sets an element's text only when it differs (a live region re-announces any change). */
function setText(element: Element, value: string): void {
  if (element.textContent !== value) element.textContent = value;
}
