/**
 * The page's live link to its login: a WebSocket (`GET /login/:id/ws`, whole snapshots on
 * connect and on every change) that reconnects with backoff when it drops, and meanwhile polls
 * `GET /login/:id/state`, so a decision made while disconnected still reaches the page.
 *
 * Browser APIs come in through {@link ConnectionDeps}, so tests drive it with fakes.
 */
import { backoffDelay, isFinal, isSnapshot, POLL_INTERVAL_MS, webSocketUrl, type ConnectionStatus } from './model.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';

/** The subset of the browser WebSocket the connection uses. */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ConnectionDeps {
  openSocket(url: string): SocketLike;
  /** GET the snapshot; resolves to the parsed JSON body, or undefined when unavailable. */
  fetchState(url: string): Promise<unknown>;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

type TimerName = 'reconnect' | 'poll' | 'heartbeat' | 'pong';

export interface ConnectionEvents {
  snapshot(snapshot: LoginSnapshot): void;
  status(status: ConnectionStatus): void;
}

/** Interval between heartbeats on an open socket, in ms; a missing pong within the timeout drops it. */
export const HEARTBEAT_MS = 20_000;
export const HEARTBEAT_TIMEOUT_MS = 8_000;

/** The browser's own implementations of {@link ConnectionDeps}. */
export function browserDeps(): ConnectionDeps {
  return {
    openSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    fetchState: async (url) => {
      const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
      return res.ok ? res.json() : undefined;
    },
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
    random: () => Math.random(),
  };
}

/**
 * Keeps a login's snapshot flowing to the page until the login reaches a final state.
 * Call {@link LoginConnection.start} once; {@link LoginConnection.stop} closes everything.
 */
export class LoginConnection {
  #socket: SocketLike | null = null;
  #attempt = 0;
  #timers: Record<TimerName, unknown> = { reconnect: null, poll: null, heartbeat: null, pong: null };
  #status: ConnectionStatus | null = null;
  #stopped = false;
  #hidden = false;
  readonly #wsUrl: string;
  readonly #stateUrl: string;

  /**
   * @param pageUrl the page's own URL (origin and scheme of the WebSocket).
   * @param loginId the login's id.
   */
  constructor(
    pageUrl: string,
    loginId: string,
    readonly events: ConnectionEvents,
    readonly deps: ConnectionDeps,
  ) {
    this.#wsUrl = webSocketUrl(pageUrl, loginId);
    this.#stateUrl = new URL(`/login/${loginId}/state`, pageUrl).toString();
  }

  start(): void {
    this.#connect();
  }

  /** Closes the socket and every timer; nothing is reported afterwards. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = socket.onerror = socket.onmessage = socket.onopen = null;
      try {
        socket.close(1000, 'done');
      } catch {
        // already closed
      }
    }
  }

  /**
   * Asks for a fresh snapshot now (e.g. the countdown reached zero, or the tab became visible
   * again): over the socket when it is open, else by a poll.
   */
  refresh(): void {
    if (this.#stopped) return;
    if (this.#status === 'live' && this.#socket) {
      try {
        this.#socket.send('{"type":"refresh"}');
        return;
      } catch {
        // fall through to a poll
      }
    }
    void this.#poll(false);
  }

  /**
   * Tells the login whether the page is shown (`document.visibilityState`): a hidden page sends
   * `{"type":"hidden"}` (now, and again on each new socket) and gets no QR frames, so its login
   * can idle and hibernate; shown again, it asks for a fresh snapshot ({@link refresh}), which
   * restarts the frames (src/session/rotation.ts).
   */
  setHidden(hidden: boolean): void {
    if (this.#hidden === hidden) return;
    this.#hidden = hidden;
    if (!hidden) this.refresh();
    else this.#sendHidden();
  }

  #sendHidden(): void {
    if (this.#stopped || !this.#hidden || this.#status !== 'live' || !this.#socket) return;
    try {
      this.#socket.send('{"type":"hidden"}');
    } catch {
      // the socket is closing: the next one says it again
    }
  }

  /** Reconnects at once when the socket is down (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.#stopped || this.#status === 'live' || this.#socket) return;
    this.#clear('reconnect');
    this.#connect();
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#setStatus(this.#status === 'lost' ? 'lost' : 'connecting');
    let socket: SocketLike;
    try {
      socket = this.deps.openSocket(this.#wsUrl);
    } catch {
      this.#dropped();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#attempt = 0;
      this.#clear('poll');
      this.#setStatus('live');
      this.#scheduleHeartbeat();
      this.#sendHidden();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if ((parsed as { type?: unknown } | null)?.type === 'pong') {
        this.#clear('pong');
        this.#scheduleHeartbeat();
        return;
      }
      if (isSnapshot(parsed)) this.#deliver(parsed);
    };
    socket.onclose = socket.onerror = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      socket.onclose = socket.onerror = socket.onmessage = socket.onopen = null;
      try {
        socket.close();
      } catch {
        // already closed
      }
      this.#dropped();
    };
  }

  /** The socket failed or closed: poll meanwhile and schedule the next attempt. */
  #dropped(): void {
    if (this.#stopped) return;
    this.#clear('heartbeat');
    this.#clear('pong');
    this.#setStatus('lost');
    if (this.#timers.poll === null) void this.#poll(true);
    const delay = backoffDelay(this.#attempt, this.deps.random());
    this.#attempt += 1;
    this.#set('reconnect', delay, () => this.#connect());
  }

  async #poll(repeat: boolean): Promise<void> {
    if (this.#stopped) return;
    if (repeat) {
      this.#set('poll', POLL_INTERVAL_MS, () => {
        if (this.#status !== 'live') void this.#poll(true);
      });
    }
    try {
      const body = await this.deps.fetchState(this.#stateUrl);
      if (!this.#stopped && isSnapshot(body)) this.#deliver(body);
    } catch {
      // offline: the next poll or reconnect tries again
    }
  }

  #scheduleHeartbeat(): void {
    this.#set('heartbeat', HEARTBEAT_MS, () => {
      const socket = this.#socket;
      if (!socket) return;
      try {
        socket.send('{"type":"ping"}');
      } catch {
        socket.onclose?.({});
        return;
      }
      // A half-open connection (a network cut the browser has not noticed) never answers.
      this.#set('pong', HEARTBEAT_TIMEOUT_MS, () => socket.onclose?.({}));
    });
  }

  #deliver(snapshot: LoginSnapshot): void {
    this.events.snapshot(snapshot);
    if (isFinal(snapshot.state)) {
      // The decision is final: nothing more can arrive, so release the socket and timers.
      this.stop();
    }
  }

  #setStatus(status: ConnectionStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.events.status(status);
  }

  #clear(name: TimerName): void {
    const handle = this.#timers[name];
    if (handle !== null) this.deps.clearTimeout(handle);
    this.#timers[name] = null;
  }

  #set(name: TimerName, ms: number, fn: () => void): void {
    this.#clear(name);
    this.#timers[name] = this.deps.setTimeout(() => {
      this.#timers[name] = null;
      fn();
    }, ms);
  }

  #clearTimers(): void {
    for (const name of Object.keys(this.#timers) as TimerName[]) this.#clear(name);
  }
}
