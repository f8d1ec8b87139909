/**
 * The rotating QR (issue 14; docs/mobile-protocol.md §2, docs/security.md "QRLJacking").
 *
 * What follows the login id in a login URL is a *frame*, not a fixed secret:
 *
 * - `r<step>.<mac>` — a **rotating** frame, pushed to the page over its WebSocket once a second;
 *   accepted until {@link ROTATING_MAX_AGE_MS} after its second began.
 * - `s<step>.<mac>` — a **static** frame, in the server-rendered page and in `GET /login/:id/state`
 *   (a page without script reloads every {@link STATIC_REFRESH_SECONDS} s; a page whose socket is
 *   blocked polls); accepted until {@link STATIC_MAX_AGE_MS} after its second began.
 * - `l.<token>` — the same-device **launch** token of the "Launch the mobile key on this device"
 *   link: 128 random bits, valid while the login is pending, used once.
 *
 * `step` is the number of whole seconds since the login was created (its elapsed time, as in
 * BankID's animated QR) and `mac` the first 16 bytes of HMAC-SHA256 (RFC 2104) under a 256-bit
 * key that lives only in the login's Durable Object, over
 * `mobile-key-frame-v2 LF <kind> LF <login id> LF <step>`, in base64url. The browser never sees
 * the key, so nobody can make a frame for a later second; a copied frame (a screenshot, a QR put
 * into a message or a fake site) goes stale within seconds. The kind is inside the MAC, so a
 * rotating frame cannot be relabelled as a longer-lived static one.
 *
 * The object does not keep a list of frames: it recomputes the MAC of the step a phone presents.
 * It pushes frames by alarm: while the login is pending and a page socket is open, each snapshot
 * carries the current frame and the next {@link FRAMES_AHEAD} (with the server time each begins),
 * the page shows each in its second, and the alarm fires when the last of them begins (or at the
 * deadline, if sooner) to push the next batch — one wake-up every 3 s, not every second. A frame
 * is never accepted before its second begins, so the frames a page holds early are worth no more
 * to a relay than a static frame (at most 3 s early + 3 s = 6 s, under the 8 s of a static
 * one). With no socket open only the expiry alarm remains. Every frame handed to a page comes
 * drawn ({@link drawFrames}): the page has no QR encoder.
 *
 * Frames go only to pages that show the QR: a page whose tab is hidden sends `{"type":"hidden"}`
 * and gets no frames (state changes still) until it sends `{"type":"refresh"}`, which answers
 * with a fresh snapshot and restarts the pushes. With no page shown the alarm falls back to the
 * deadline, so the object idles and the runtime can hibernate it (a pending login with a shown
 * page wakes every 3 s and never can: docs/performance.md "Held logins"). This issues fewer
 * frames, never more or longer-lived ones, so the argument above is unchanged; a relay's own
 * page can still claim to be shown, as before. A longer batch would let a shown page's object
 * hibernate too, but a frame held {@link FRAMES_AHEAD} s early is worth that much more to a relay
 * (hibernation needs 10 s idle, so 10 + 3 = 13 s, over the static frame's 8 s): not done.
 *
 * Pure functions take the clock as an argument (epoch milliseconds), so tests drive the boundaries.
 */
import { base64urlDecode, base64urlEncode } from '../mobile/protocol.ts';
import { drawQr } from '../../client/shared/qr-encode.ts';
import type { DrawnQr } from '../../client/shared/qr-path.ts';
import { randomToken, timingSafeEqual } from './crypto.ts';
import { broadcast } from './sockets.ts';

/** How long each rotating frame is shown, in milliseconds. */
export const FRAME_STEP_MS = 1000;
/** How many upcoming rotating frames a socket snapshot carries besides the current one. */
export const FRAMES_AHEAD = 3;
/**
 * How long after its second began a rotating frame is accepted, in milliseconds (3 s): the second
 * it is shown plus 2 s for the phone to focus, decode and send it.
 */
export const ROTATING_MAX_AGE_MS = 3000;
/** How often the page without script reloads while the login is pending, in seconds. */
export const STATIC_REFRESH_SECONDS = 5;
/**
 * How long after its second began a static frame is accepted, in milliseconds (8 s): a page
 * rendered at the end of a second still has a valid QR until it reloads 5 s later, with 2 s to spare.
 */
export const STATIC_MAX_AGE_MS = 8000;

/** `r`: rotating (WebSocket), `s`: static (the page without script, the state poll). */
export type FrameKind = 'r' | 's';

/** What a presented frame is worth. `unknown` (wrong MAC, a step never issued, wrong token) is told apart from `stale` only for a genuine frame. */
export type FrameCheck = { ok: true; kind: FrameKind | 'launch' } | { ok: false; reason: 'unknown' | 'stale' };

/** Durable Object storage keys of the rotation (listed in docs/storage.md). */
export const ROTATION_KEY = {
  frameKey: 'frameKey', // base64url of the 256-bit HMAC key of the frames; never leaves the object
  launch: 'launch', // {token, used}: the same-device launch token
} as const;

/** The stored same-device launch token. */
export interface LaunchToken {
  token: string;
  used: boolean;
}

/** The storage entries a fresh login starts with: a new frame key and launch token. */
export function newRotation(): Record<string, string | LaunchToken> {
  return { [ROTATION_KEY.frameKey]: randomToken(32), [ROTATION_KEY.launch]: { token: randomToken(16), used: false } };
}

/**
 * The step (whole seconds since the login was created) at `now`; 0 before creation.
 * @param createdAt, now epoch milliseconds.
 */
export function frameStep(createdAt: number, now: number): number {
  return Math.max(0, Math.floor((now - createdAt) / FRAME_STEP_MS));
}

/** When `step` begins, epoch milliseconds. */
export function stepStart(createdAt: number, step: number): number {
  return createdAt + step * FRAME_STEP_MS;
}

/** The longest age (ms since its second began) at which a frame of `kind` is accepted. */
export function maxAge(kind: FrameKind): number {
  return kind === 'r' ? ROTATING_MAX_AGE_MS : STATIC_MAX_AGE_MS;
}

/**
 * Whether a genuine frame of `kind` for `step` is still accepted at `now`: from its second's
 * start up to and including {@link maxAge} milliseconds later.
 */
export function isFresh(kind: FrameKind, step: number, createdAt: number, now: number): boolean {
  const age = now - stepStart(createdAt, step);
  return age >= 0 && age <= maxAge(kind);
}

/**
 * The MAC of a frame: base64url of the first 16 bytes of HMAC-SHA256 under `key` over
 * `mobile-key-frame-v2\n<kind>\n<loginId>\n<step>` (22 characters).
 * @param key base64url of the object's frame key.
 */
export async function frameMac(key: string, kind: FrameKind, loginId: string, step: number, memo?: FrameMemo): Promise<string> {
  const hmac = await hmacKey(key, memo);
  const text = ['mobile-key-frame-v2', kind, loginId, String(step)].join('\n');
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, new TextEncoder().encode(text)));
  return base64urlEncode(mac.slice(0, 16));
}

/**
 * What a login's object keeps in memory between calls so that no frame work is done twice: the
 * frame key imported for HMAC, and the drawn QR of each frame the last socket snapshot carried,
 * by login URL (the next push shows the last of them again as its current frame; a `refresh`
 * shows all of them again). A frame's drawing depends on its URL alone, so a reused drawing is
 * the very one drawing it again would give. Only the last snapshot's frames are kept (four
 * strings of ~400 characters); an evicted or hibernated object starts empty and draws again.
 */
export interface FrameMemo {
  /** The imported key, for the base64url frame key it was imported from. */
  hmac?: { key: string; imported: Promise<CryptoKey> };
  /** Drawn QR codes of the last socket snapshot's frames, by login URL. */
  drawn?: Map<string, DrawnQr>;
}

/** The frame key imported for HMAC-SHA256 signing, once per `memo` (every call without one). */
function hmacKey(key: string, memo?: FrameMemo): Promise<CryptoKey> {
  if (memo?.hmac?.key === key) return memo.hmac.imported;
  const raw = base64urlDecode(key);
  if (!raw) throw new TypeError('frame key is not base64url');
  const imported = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  if (memo) memo.hmac = { key, imported };
  return imported;
}

/** The frame of `kind` for the second `now` falls in, as it follows the login id: `r12.<mac>`. */
export async function frameAt(key: string, kind: FrameKind, loginId: string, createdAt: number, now: number, memo?: FrameMemo): Promise<string> {
  const step = frameStep(createdAt, now);
  return `${kind}${step}.${await frameMac(key, kind, loginId, step, memo)}`;
}

/**
 * Checks what a phone presents after the login id.
 * @param input.frame `r<step>.<mac>`, `s<step>.<mac>` or `l.<token>`.
 * @param input.launch the stored launch token, if any.
 * @param input.createdAt, input.now epoch milliseconds.
 * @returns `unknown` for anything the object did not issue (a wrong MAC, a later step, a wrong
 *   token, malformed text), `stale` for a genuine frame past its age or a launch token used before.
 */
export async function checkFrame(input: {
  key: string;
  launch: LaunchToken | undefined;
  loginId: string;
  createdAt: number;
  now: number;
  frame: string;
  memo?: FrameMemo;
}): Promise<FrameCheck> {
  const { frame } = input;
  if (frame.startsWith('l.')) {
    const launch = input.launch;
    if (!launch || !timingSafeEqual(`l.${launch.token}`, frame)) return { ok: false, reason: 'unknown' };
    return launch.used ? { ok: false, reason: 'stale' } : { ok: true, kind: 'launch' };
  }
  const match = /^([rs])([0-9]{1,6})\.([A-Za-z0-9_-]{22})$/.exec(frame);
  if (!match) return { ok: false, reason: 'unknown' };
  const kind = match[1] as FrameKind;
  const step = Number(match[2]);
  // No frame of a later second was ever made; leading zeros are not ours either.
  if (String(step) !== match[2] || step > frameStep(input.createdAt, input.now)) return { ok: false, reason: 'unknown' };
  if (!timingSafeEqual(await frameMac(input.key, kind, input.loginId, step, input.memo), match[3]!)) return { ok: false, reason: 'unknown' };
  return isFresh(kind, step, input.createdAt, input.now) ? { ok: true, kind } : { ok: false, reason: 'stale' };
}

/**
 * When the next batch of frames is due: when the last frame pushed at `now` begins
 * ({@link FRAMES_AHEAD} seconds on), or the deadline if it comes first (epoch milliseconds).
 */
export function nextTickAt(createdAt: number, expiresAt: number, now: number): number {
  return Math.min(stepStart(createdAt, frameStep(createdAt, now) + FRAMES_AHEAD), expiresAt);
}

/**
 * Moves the object's alarm forward to the next frame (never later: the alarm may already be due
 * sooner for the deadline).
 */
export async function scheduleTick(storage: DurableObjectStorage, createdAt: number, expiresAt: number, now: number): Promise<void> {
  const at = nextTickAt(createdAt, expiresAt, now);
  const current = await storage.getAlarm();
  if (current === null || current > at) await storage.setAlarm(at);
}

/**
 * The alarm's frame policy while a login is pending and before its deadline: pushes the next
 * batch of frames to the pages that show the QR (`shown`, see ./sockets.ts `shownSockets`) and
 * schedules the next tick; with none shown, only the deadline alarm remains (the object may
 * then hibernate).
 * @param snapshot builds the socket snapshot (rotating frames) to push.
 * @param now epoch milliseconds.
 */
export async function frameTick(
  storage: DurableObjectStorage,
  login: { createdAt: number; expiresAt: number },
  shown: WebSocket[],
  now: number,
  snapshot: () => Promise<object>,
): Promise<void> {
  if (shown.length === 0) return dropTickIfUnwatched(storage, login, shown);
  broadcast(shown, await snapshot());
  await scheduleTick(storage, login.createdAt, login.expiresAt, now);
}

/**
 * After a page said it is hidden: with no page left shown, drops the pending login's next frame
 * tick at once, so only the deadline alarm remains and the object can start idling now rather
 * than after one more push.
 */
export async function dropTickIfUnwatched(storage: DurableObjectStorage, login: { expiresAt: number }, shown: WebSocket[]): Promise<void> {
  if (shown.length === 0) await storage.setAlarm(login.expiresAt);
}

/** An upcoming QR frame for the page: its login URL, its drawn QR and when (server epoch ms) it replaces the one shown. */
export interface NextFrame {
  at: number;
  loginUrl: string;
  qr?: DrawnQr;
}

/**
 * Draws the QR of every frame a snapshot (or its links) carries — `loginUrl` and each of
 * `nextFrames` — into their `qr` (client/shared/qr-path.ts), so the page shows each without a
 * QR encoder of its own. Only for what is sent to a page: a socket snapshot (four frames, about
 * 0.4 ms of CPU each: client/shared/qr-encode.ts) and `GET /login/:id/state` (one).
 * @param memo the object's {@link FrameMemo}: a frame drawn for the previous snapshot is reused,
 *   and afterwards it holds this snapshot's drawings only.
 * @returns the same object, drawn.
 */
export function drawFrames<T extends { loginUrl?: string; qr?: DrawnQr; nextFrames?: NextFrame[] }>(links: T, memo?: FrameMemo): T {
  const previous = memo?.drawn;
  const drawn = new Map<string, DrawnQr>();
  const draw = (url: string): DrawnQr => {
    const qr = drawn.get(url) ?? previous?.get(url) ?? drawQr(url);
    drawn.set(url, qr);
    return qr;
  };
  if (links.loginUrl) links.qr = draw(links.loginUrl);
  for (const next of links.nextFrames ?? []) next.qr = draw(next.loginUrl);
  if (memo) memo.drawn = drawn;
  return links;
}

/**
 * The page's links of a pending login: the QR's frame URL of `kind` for `now` (for `r`, with the
 * next {@link FRAMES_AHEAD} frames, all drawn: {@link drawFrames}), and the launch link while
 * its token is unused.
 * @param build makes `<origin>/key/login#<login id>.<frame>` from a frame.
 * @param memo the object's {@link FrameMemo} (the imported key, the last socket snapshot's drawings).
 */
export async function frameLinks(
  storage: DurableObjectStorage,
  loginId: string,
  createdAt: number,
  kind: FrameKind,
  now: number,
  build: (frame: string) => string,
  memo?: FrameMemo,
): Promise<{ loginUrl?: string; qr?: DrawnQr; nextFrames?: NextFrame[]; launchUrl?: string }> {
  const stored = await storage.get([ROTATION_KEY.frameKey, ROTATION_KEY.launch]);
  const key = stored.get(ROTATION_KEY.frameKey) as string | undefined;
  const launch = stored.get(ROTATION_KEY.launch) as LaunchToken | undefined;
  const links: { loginUrl?: string; qr?: DrawnQr; nextFrames?: NextFrame[]; launchUrl?: string } = {};
  if (key) links.loginUrl = build(await frameAt(key, kind, loginId, createdAt, now, memo));
  if (key && kind === 'r') {
    const step = frameStep(createdAt, now);
    links.nextFrames = await Promise.all(
      Array.from({ length: FRAMES_AHEAD }, async (_, i) => ({
        at: stepStart(createdAt, step + i + 1),
        loginUrl: build(`r${step + i + 1}.${await frameMac(key, 'r', loginId, step + i + 1, memo)}`),
      })),
    );
  }
  if (launch && !launch.used) links.launchUrl = build(`l.${launch.token}`);
  return kind === 'r' ? drawFrames(links, memo) : links;
}

/** {@link checkFrame} against the object's stored key and launch token (`memo`: as {@link frameLinks}). */
export async function checkStoredFrame(
  storage: DurableObjectStorage,
  loginId: string,
  createdAt: number,
  frame: string,
  now: number,
  memo?: FrameMemo,
): Promise<FrameCheck> {
  const stored = await storage.get([ROTATION_KEY.frameKey, ROTATION_KEY.launch]);
  const key = stored.get(ROTATION_KEY.frameKey) as string | undefined;
  if (!key || typeof frame !== 'string') return { ok: false, reason: 'unknown' };
  return checkFrame({ key, launch: stored.get(ROTATION_KEY.launch) as LaunchToken | undefined, loginId, createdAt, now, frame, ...(memo ? { memo } : {}) });
}

/** Marks the launch token used (after the scan it carried took effect). */
export async function spendLaunchToken(storage: DurableObjectStorage): Promise<void> {
  const launch = await storage.get<LaunchToken>(ROTATION_KEY.launch);
  if (launch && !launch.used) await storage.put(ROTATION_KEY.launch, { ...launch, used: true });
}
