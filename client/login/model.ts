/**
 * The hosted login page's logic as pure functions (no DOM, no Workers API): the countdown, the
 * reconnect schedule, how snapshots are merged, which QR frame is shown, and what each state
 * shows and says. The Worker renders with them, the browser runs them (client/login/main.ts),
 * and test/worker/page-model.test.ts calls them directly.
 */
import type { DrawnQr } from '../shared/qr-path.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';

export type LoginState = LoginSnapshot['state'];

/**
 * What the page knows of its live connection to the login: `idle` when none is needed (the page
 * was loaded after the login ended).
 */
export type ConnectionStatus = 'connecting' | 'live' | 'lost' | 'idle';

const TERMINAL: ReadonlySet<LoginState> = new Set(['approved', 'denied', 'expired', 'cancelled']);

/** True for approved, denied, expired and cancelled: states that never change again. */
export function isFinal(state: LoginState): boolean {
  return TERMINAL.has(state);
}

/**
 * The difference between the server's clock and the browser's, in milliseconds, measured when
 * a snapshot arrives: add it to `Date.now()` to get the server's time.
 * @param serverNow the snapshot's `now` (epoch ms).
 * @param receivedAt the browser's `Date.now()` when it arrived (epoch ms).
 */
export function clockOffset(serverNow: number, receivedAt: number): number {
  return serverNow - receivedAt;
}

/**
 * Milliseconds left until `expiresAt` (epoch ms) at the browser time `browserNow` (epoch ms),
 * corrected by the clock offset; never negative.
 */
export function remainingMs(expiresAt: number, browserNow: number, offset: number): number {
  return Math.max(0, expiresAt - (browserNow + offset));
}

/**
 * Formats a remaining time as m:ss, rounding up to whole seconds so 0:00 appears only when the
 * time is really up (e.g. 179 001 ms → "3:00", 59 000 ms → "0:59", 0 → "0:00").
 */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${seconds.toString().padStart(2, '0')}`;
}

/** An ISO 8601 duration for `<time datetime>` (e.g. 179 000 ms → "PT2M59S"). */
export function isoDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `PT${Math.floor(total / 60)}M${total % 60}S`;
}

/** The reconnect schedule: first delay, cap and the share of each delay that is randomised. */
export const BACKOFF = { baseMs: 500, capMs: 10_000, jitter: 0.5 } as const;

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first retry), in milliseconds:
 * exponential (base·2^attempt) up to the cap, with "equal jitter" — the upper `jitter` share
 * of the delay is random, so many pages cut at once do not reconnect in step, yet never retry
 * in a tight loop.
 * @param random a number in [0, 1), e.g. `Math.random()`.
 */
export function backoffDelay(attempt: number, random: number, schedule: typeof BACKOFF = BACKOFF): number {
  const exponential = Math.min(schedule.capMs, schedule.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const fixed = exponential * (1 - schedule.jitter);
  return Math.round(fixed + exponential * schedule.jitter * Math.min(Math.max(random, 0), 1));
}

/** How often the page polls `GET /login/:id/state` while its WebSocket is down, in milliseconds. */
export const POLL_INTERVAL_MS = 3000;

/**
 * Merges a snapshot that arrived (over the WebSocket or by polling) into the one the page shows.
 * A snapshot for another login is ignored, and no state is ever undone by a late snapshot (a
 * slow poll answered before the change): once the page has a final state nothing replaces it,
 * and a scanned login never shows as pending again (the server never goes back either:
 * src/session/machine.ts).
 * @returns `current` itself when `incoming` is ignored.
 */
export function mergeSnapshot(current: LoginSnapshot, incoming: LoginSnapshot): LoginSnapshot {
  if (incoming.id !== current.id) return current;
  if (isFinal(current.state)) return current;
  if (current.state === 'scanned' && incoming.state === 'pending') return current;
  return incoming;
}

/**
 * Whether a parsed message is a login snapshot the page can use (the page's only trust check on
 * what the server sends: anything else, such as a problem reply, is ignored).
 */
export function isSnapshot(value: unknown): value is LoginSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.type === 'snapshot' &&
    typeof v.id === 'string' &&
    typeof v.state === 'string' &&
    ['pending', 'scanned', 'approved', 'denied', 'expired', 'cancelled'].includes(v.state) &&
    typeof v.expiresAt === 'number' &&
    typeof v.now === 'number' &&
    typeof v.client === 'object' &&
    v.client !== null &&
    typeof (v.client as Record<string, unknown>).name === 'string'
  );
}

/** What the page shows for a snapshot; the view renders exactly this. */
export interface LoginView {
  state: LoginState;
  serviceName: string;
  /** Shown only while pending: what the QR encodes (a new frame every second). */
  loginUrl?: string;
  /** Shown only while pending: the same-device button's link (its single-use launch token). */
  launchUrl?: string;
  /** Approved: where the browser goes next. */
  continueUrl?: string;
  /** Ended without approval: where the "Start again" form posts. */
  restartUrl?: string;
  /** Where "Cancel and return" (pending, scanned) or "Back to the service" (ended) posts. */
  returnUrl?: string;
  /** Whether the countdown is shown (pending and scanned). */
  showCountdown: boolean;
  /** Number matching, while scanned: the two-digit number the person picks on the phone. */
  matchNumber?: number;
}

/**
 * The QR frame at a server time: the latest of the snapshot's `nextFrames` that has begun by
 * `serverNow`, else its own `loginUrl` (src/session/rotation.ts); with the QR the server drew
 * for it, when the snapshot carries one.
 * @param serverNow the server's clock, epoch milliseconds (browser clock + offset).
 */
export function frameAt(snapshot: LoginSnapshot, serverNow: number): { loginUrl: string; qr?: DrawnQr | undefined } | undefined {
  let frame: { loginUrl: string; qr?: DrawnQr | undefined } | undefined = snapshot.loginUrl ? { loginUrl: snapshot.loginUrl, qr: snapshot.qr } : undefined;
  for (const next of snapshot.nextFrames ?? []) {
    if (typeof next?.at === 'number' && typeof next.loginUrl === 'string' && next.at <= serverNow) frame = next;
  }
  return frame;
}

/** The QR's login URL at a server time ({@link frameAt}). */
export function frameUrlAt(snapshot: LoginSnapshot, serverNow: number): string | undefined {
  return frameAt(snapshot, serverNow)?.loginUrl;
}

/**
 * The view model of a snapshot.
 * @param serverNow the server's clock now (epoch ms), to pick the QR frame; the snapshot's own `now` by default.
 */
export function viewOf(snapshot: LoginSnapshot, serverNow: number = snapshot.now): LoginView {
  const view: LoginView = {
    state: snapshot.state,
    serviceName: snapshot.client.name,
    showCountdown: snapshot.state === 'pending' || snapshot.state === 'scanned',
  };
  const loginUrl = frameUrlAt(snapshot, serverNow);
  if (snapshot.state === 'pending' && loginUrl) view.loginUrl = loginUrl;
  if (snapshot.state === 'pending' && snapshot.launchUrl) view.launchUrl = snapshot.launchUrl;
  if (snapshot.state === 'approved' && snapshot.continueUrl) view.continueUrl = snapshot.continueUrl;
  if (snapshot.restartUrl && (snapshot.state === 'denied' || snapshot.state === 'expired' || snapshot.state === 'cancelled')) {
    view.restartUrl = snapshot.restartUrl;
  }
  if (snapshot.returnUrl && snapshot.state !== 'approved') view.returnUrl = snapshot.returnUrl;
  const number = snapshot.matchNumber;
  if (snapshot.state === 'scanned' && Number.isInteger(number) && number! >= 10 && number! <= 99) view.matchNumber = number!;
  return view;
}

/**
 * The URL of the page's WebSocket for a login, on the page's own origin (ws: for http:, wss:
 * for https:).
 */
export function webSocketUrl(pageUrl: string, loginId: string): string {
  const url = new URL(`/login/${loginId}/ws`, pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * Serialises the page's initial state for a `<script type="application/json">` block: JSON with
 * `<`, `>`, `&` and the line separators escaped, so no value can close the script element.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Below this many ms left, the page says once (politely) that time is running out. */
export const LOW_TIME_MS = 30_000;

/**
 * The sentences the page script may need after load, in the page's language only, with the
 * service's name already in them (the server fills them from client/shared/i18n.ts). The
 * panels of the states the login can still reach come as `<template>`s instead
 * (src/login/pages.tsx).
 */
export interface PageText {
  /** What the live region says in each state. */
  status: Record<LoginState, string>;
  /** Added to the live region's sentence once less than {@link LOW_TIME_MS} remain. */
  lowTime: string;
  /** Added while scanned with number matching; `{n}` stands for the number. */
  matchNumber: string;
  /** The notice shown while the connection stays lost. */
  lost: string;
  /** The countdown's label at 0:00. */
  expired: string;
}

/**
 * What the polite live region says for a view: one sentence per state, the number to pick
 * while scanned with number matching, and a single warning when little time is left (never
 * the countdown's ticks).
 * @param lowTime whether less than {@link LOW_TIME_MS} remain (counts only while the countdown shows).
 */
export function statusSentence(text: PageText, view: LoginView, lowTime = false): string {
  let sentence = text.status[view.state];
  if (view.matchNumber !== undefined) sentence += ` ${text.matchNumber.replace('{n}', String(view.matchNumber))}`;
  if (lowTime && view.showCountdown) sentence += ` ${text.lowTime}`;
  return sentence;
}

/** What the server hands the page script in `#login-state`. */
export interface PageState {
  /** The snapshot the page was rendered from (a `GET /login/:id/state` read, embedded). */
  snapshot: LoginSnapshot;
  text: PageText;
}
