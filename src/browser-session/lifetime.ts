/**
 * The browser session's life as pure functions (no Workers API): its record, when it ends by
 * itself (idle or absolute lifetime), and the back-channel deliveries it owes once it ended.
 * Every time is epoch MILLISECONDS except `authTime`, which is epoch SECONDS like `auth_time`.
 *
 *   active ──use (touch)──▶ active
 *     │ idle deadline / absolute deadline / logout / device revoked / replaced
 *     ▼
 *   ended ──alarm: deliver each client's logout token (retry with backoff, give up when bounded)──▶ gone
 */
import type { EndReason } from './api.ts';

/** Defaults when `SESSION_IDLE_SECONDS` / `SESSION_ABSOLUTE_SECONDS` are unset or invalid, in seconds. */
export const DEFAULT_IDLE_SECONDS = 30 * 60;
export const DEFAULT_ABSOLUTE_SECONDS = 8 * 60 * 60;

/** How long an ended session's record is kept (ms), so a late code redemption still finds its clients. */
export const ENDED_RETENTION_MS = 10 * 60_000;

/** The session as its Durable Object stores it (key `session`). */
export interface SessionRecord {
  /** SHA-256 hex of the cookie's secret (the secret itself is only in the browser). */
  secretHash: string;
  sid: string;
  sub: string;
  /** Epoch SECONDS of the last approval with a mobile key. */
  authTime: number;
  acr: string;
  amr: string[];
  deviceId: string;
  clients: string[];
  /**
   * The `sub` a client knows when it is not `sub` (a pairwise client, OIDC Core §8.1): its logout
   * token carries this one. Absent for sessions whose clients all see `sub`.
   */
  subjects?: Record<string, string>;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the last use (authorization request answered from it). */
  lastSeenAt: number;
  idleSeconds: number;
  absoluteSeconds: number;
  /** Set once, when the session ends. */
  endedAt?: number;
  endReason?: EndReason;
}

/** One back-channel logout token still owed to a client (key `pending`). */
export interface PendingDelivery {
  clientId: string;
  sub: string;
  sid: string;
  /** Retries made so far (0 = the first delivery has not been tried). */
  attempt: number;
  /** Epoch ms when it is next tried. */
  dueAt: number;
}

/** The lifetimes configured in wrangler.toml vars, in seconds; defaults for missing or invalid values. */
export function lifetimes(vars: { SESSION_IDLE_SECONDS?: string; SESSION_ABSOLUTE_SECONDS?: string }): {
  idleSeconds: number;
  absoluteSeconds: number;
} {
  const positive = (value: string | undefined, fallback: number) => {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    idleSeconds: positive(vars.SESSION_IDLE_SECONDS, DEFAULT_IDLE_SECONDS),
    absoluteSeconds: positive(vars.SESSION_ABSOLUTE_SECONDS, DEFAULT_ABSOLUTE_SECONDS),
  };
}

/** The idle and absolute deadlines of a session, epoch ms. */
export function deadlines(record: SessionRecord): { idle: number; absolute: number } {
  return {
    idle: record.lastSeenAt + record.idleSeconds * 1000,
    absolute: record.createdAt + record.absoluteSeconds * 1000,
  };
}

/** When the session ends by itself (the earlier deadline), epoch ms. */
export function endsAt(record: SessionRecord): number {
  const { idle, absolute } = deadlines(record);
  return Math.min(idle, absolute);
}

/**
 * Whether the session has ended at `now`, and why: its stored end, else a passed deadline
 * (`absolute` wins a tie, as it is the harder limit).
 * @returns null while the session is valid.
 */
export function endedBy(record: SessionRecord, now: number): EndReason | null {
  if (record.endedAt !== undefined) return record.endReason ?? 'logout';
  const { idle, absolute } = deadlines(record);
  if (now >= absolute) return 'absolute';
  if (now >= idle) return 'idle';
  return null;
}

/** The record after a use at `now`: the idle deadline moves, never past the absolute one. */
export function touch(record: SessionRecord, now: number): SessionRecord {
  return record.endedAt !== undefined || now <= record.lastSeenAt ? record : { ...record, lastSeenAt: now };
}

/**
 * The record with a client that received tokens (each client once, in order of first use) and
 * the `sub` its tokens carried (default: the session's own).
 */
export function withClient(record: SessionRecord, clientId: string, sub = record.sub): SessionRecord {
  const known = record.clients.includes(clientId);
  const subjectKnown = (record.subjects?.[clientId] ?? record.sub) === sub;
  if (known && subjectKnown) return record;
  const next = known ? record : { ...record, clients: [...record.clients, clientId] };
  return subjectKnown ? next : { ...next, subjects: { ...record.subjects, [clientId]: sub } };
}

/** The `sub` a client of the session knows (its logout token's `sub`). */
export function subjectOf(record: SessionRecord, clientId: string): string {
  return record.subjects?.[clientId] ?? record.sub;
}

/**
 * Ends a session (idempotent: an ended session keeps its first end) and lists the deliveries it
 * owes, one per client, due at once.
 */
export function end(record: SessionRecord, reason: EndReason, now: number): { record: SessionRecord; owed: PendingDelivery[] } {
  if (record.endedAt !== undefined) return { record, owed: [] };
  return {
    record: { ...record, endedAt: now, endReason: reason },
    owed: record.clients.map((clientId) => ({ clientId, sub: subjectOf(record, clientId), sid: record.sid, attempt: 0, dueAt: now })),
  };
}

/**
 * What happens to a delivery after one try: kept for a retry at the delay `retryDelay(attempt)`
 * gives (ms), or dropped (done, refused, or given up when the delay is null).
 * @returns the delivery to keep, or `{ gaveUp: true }` / null when it is dropped.
 */
export function afterTry(
  delivery: PendingDelivery,
  outcome: 'delivered' | 'retry' | 'not-registered' | 'refused',
  now: number,
  retryDelay: (attempt: number) => number | null,
): PendingDelivery | { gaveUp: true } | null {
  if (outcome !== 'retry') return null;
  const attempt = delivery.attempt + 1;
  const delay = retryDelay(attempt);
  if (delay === null) return { gaveUp: true };
  return { ...delivery, attempt, dueAt: now + delay };
}

/**
 * When the object's alarm should next run, epoch ms, or null for none: the session's own end
 * while active; else the earliest pending delivery; else the end of the retention of an ended
 * record (then everything is deleted).
 */
export function nextAlarm(record: SessionRecord | undefined, pending: PendingDelivery[]): number | null {
  if (!record) return pending.length ? Math.min(...pending.map((d) => d.dueAt)) : null;
  if (record.endedAt === undefined) return endsAt(record);
  if (pending.length) return Math.min(...pending.map((d) => d.dueAt));
  return record.endedAt + ENDED_RETENTION_MS;
}

/** The session as the rest of the Worker sees it. */
export function viewOf(record: SessionRecord): {
  sid: string;
  sub: string;
  authTime: number;
  acr: string;
  amr: string[];
  deviceId: string;
  clients: string[];
} {
  return {
    sid: record.sid,
    sub: record.sub,
    authTime: record.authTime,
    acr: record.acr,
    amr: [...record.amr],
    deviceId: record.deviceId,
    clients: [...record.clients],
  };
}
