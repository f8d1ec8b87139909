import { DurableObject } from 'cloudflare:workers';
import { deliverBackchannelLogout, nextRetryDelayMs, type DeliveryOutcome, type LogoutDelivery } from '../oidc/backchannel.ts';
import { logEvent } from '../lib/log.ts';
import { randomToken, timingSafeEqual } from '../session/crypto.ts';
import type { BrowserSessionView, EndReason } from './api.ts';
import { forgetSession, indexSessionUnlessRevoked } from './index-db.ts';
import {
  afterTry,
  end,
  endedBy,
  endsAt,
  nextAlarm,
  touch,
  viewOf,
  withClient,
  type PendingDelivery,
  type SessionRecord,
} from './lifetime.ts';

/** Durable Object storage keys (listed in docs/storage.md). */
const KEY = {
  session: 'session', // SessionRecord
  pending: 'pending', // PendingDelivery[]: back-channel logout tokens still owed
  refused: 'refused', // epoch ms: its key was revoked before the session was created (see `end`)
} as const;

/** How long an object keeps the mark of a revocation that came before its session (`end`), ms. */
const REFUSED_RETENTION_MS = 10 * 60_000;

/** What the Worker hands a fresh session. Times: `authTime` epoch SECONDS. */
export interface StartBrowserSession {
  /** SHA-256 hex of the cookie secret. */
  secretHash: string;
  /**
   * The session id relying services will see, when the Worker chose it before (it links the
   * login's code to the session in the same call that issues the code); random otherwise.
   */
  sid?: string;
  sub: string;
  authTime: number;
  acr: string;
  amr: string[];
  deviceId: string;
  idleSeconds: number;
  absoluteSeconds: number;
}

/**
 * One browser session (single sign-on): who is logged in, when and how, and the clients that
 * received tokens. Named by the `__Host-` cookie (object id + secret; the object keeps the
 * secret's SHA-256). Ends by its alarm (idle, absolute), by logout or device revocation, and
 * then delivers back-channel logout tokens from the alarm, retrying with backoff.
 * RPC methods never throw for bad input: unknown or ended sessions are `null`.
 */
export class BrowserSession extends DurableObject<Env> {
  /**
   * How a logout token is delivered (Back-Channel Logout 1.0, src/oidc/backchannel.ts). A static
   * seam so tests can record deliveries and answer with failures; not reachable over RPC.
   */
  static deliver: (env: Env, delivery: LogoutDelivery) => Promise<DeliveryOutcome> = deliverBackchannelLogout;

  /**
   * Starts the session (idempotent for the same secret; a started object is never reused for
   * another). Schedules the alarm at the session's end. Its D1 index row by device is written
   * by the Worker before (`indexPlannedSession`, in `/continue`'s revocation batch).
   * @returns the session; null if the object already holds another session; `'device-revoked'`
   *   if its key's revocation reached this object first (its index row was found before the
   *   session existed: `end`), so a key revoked during `/continue` never gets a session.
   */
  async create(init: StartBrowserSession): Promise<BrowserSessionView | null | 'device-revoked'> {
    const stored = await this.ctx.storage.get<unknown>([KEY.session, KEY.refused]);
    const existing = stored.get(KEY.session) as SessionRecord | undefined;
    if (existing) return timingSafeEqual(existing.secretHash, init.secretHash) ? viewOf(existing) : null;
    if (stored.has(KEY.refused)) return 'device-revoked';
    const now = Date.now();
    const { sid, ...rest } = init;
    const record: SessionRecord = {
      ...rest,
      sid: sid ?? randomToken(16),
      clients: [],
      createdAt: now,
      lastSeenAt: now,
    };
    await this.ctx.storage.put(KEY.session, record);
    await this.ctx.storage.setAlarm(endsAt(record));
    // Its D1 index row was written by /continue, with the revocation read (api.ts indexPlannedSession).
    return viewOf(record);
  }

  /**
   * The valid session for the cookie's secret (its SHA-256 hex); counts as a use (the idle
   * deadline moves). @returns null for a wrong secret or an ended session.
   */
  async read(secretHash: string, options: { touch?: boolean } = {}): Promise<BrowserSessionView | null> {
    const record = await this.#valid(secretHash);
    if (!record) return null;
    if (options.touch === false) return viewOf(record);
    const touched = touch(record, Date.now());
    if (touched !== record) {
      await this.ctx.storage.put(KEY.session, touched);
      await this.ctx.storage.setAlarm(endsAt(touched));
    }
    return viewOf(touched);
  }

  /**
   * A fresh approval by the same identity (prompt=login, max_age): a later `auth_time` (epoch
   * SECONDS) and the approving device; the `sid` and the clients stay. A renewal by another
   * device first moves the session's D1 index row to it, unless it is revoked by then (so a
   * revocation racing the renewal either finds the session under that device or stops it here).
   * @returns null for a wrong secret, an ended session, another identity, or a revoked device
   *   (the session is then unchanged).
   */
  async reauthenticate(secretHash: string, input: { sub: string; authTime: number; deviceId: string }): Promise<BrowserSessionView | null> {
    const record = await this.#valid(secretHash);
    if (!record || record.sub !== input.sub) return null;
    const next = touch({ ...record, authTime: Math.max(record.authTime, input.authTime), deviceId: input.deviceId }, Date.now());
    if (next.deviceId !== record.deviceId && !(await this.#indexUnlessRevoked(next))) return null;
    await this.ctx.storage.put(KEY.session, next);
    await this.ctx.storage.setAlarm(endsAt(next));
    return viewOf(next);
  }

  /**
   * Records a client that received tokens (from the token endpoint, which has no cookie: the
   * code routed here). On a session that ended meanwhile, the client is owed a logout token.
   * @param sub the `sub` the client's tokens carry (a pairwise client's, OIDC Core §8.1); the
   *   session's own when omitted. The client's logout token carries the same.
   * @returns false when there is no such session or it has ended.
   */
  async addClient(clientId: string, sub?: string): Promise<boolean> {
    const record = await this.#record();
    if (!record) return false;
    const now = Date.now();
    if (endedBy(record, now) === null) {
      const next = withClient(record, clientId, sub);
      if (next !== record) await this.ctx.storage.put(KEY.session, next);
      return true;
    }
    if (record.endedAt === undefined) {
      await this.#end(record, endedBy(record, now)!, now);
    }
    const ended = (await this.#record())!;
    if (!ended.clients.includes(clientId)) {
      await this.ctx.storage.put(KEY.session, withClient(ended, clientId, sub));
      await this.#owe([{ clientId, sub: sub ?? ended.sub, sid: ended.sid, attempt: 0, dueAt: now }]);
    }
    return false;
  }

  /**
   * Ends the session (idempotent). With `secretHash` only the cookie's holder may; without it
   * the Worker ends it by id (device revocation, operator). Back-channel logout starts from the
   * alarm, so the caller is never held up by a client.
   * A device revocation that finds no session yet (its index row is written just before the
   * session is created: `/continue`) leaves a mark, for 10 minutes, on which `create` refuses.
   * @returns the session as it was when this call ended it, or null when it was unknown,
   *   already ended, or the secret does not match.
   */
  async end(reason: EndReason, secretHash?: string): Promise<BrowserSessionView | null> {
    const record = await this.#record();
    if (!record && reason === 'device-revoked' && secretHash === undefined) {
      const now = Date.now();
      await this.ctx.storage.put(KEY.refused, now);
      await this.ctx.storage.setAlarm(now + REFUSED_RETENTION_MS);
      return null;
    }
    if (!record || record.endedAt !== undefined) return null;
    if (secretHash !== undefined && !timingSafeEqual(record.secretHash, secretHash)) return null;
    const now = Date.now();
    await this.#end(record, endedBy(record, now) ?? reason, now);
    return viewOf(record);
  }

  /**
   * Ends an expired session, delivers the logout tokens that are due (in parallel: a slow or
   * failing client holds up no other), reschedules, and deletes everything once nothing is owed
   * and the retention passed. Idempotent; an early run changes nothing.
   */
  override async alarm(): Promise<void> {
    try {
      const now = Date.now();
      let record = await this.#record();
      if (record && record.endedAt === undefined) {
        const reason = endedBy(record, now);
        if (reason) {
          await this.#end(record, reason, now);
          record = await this.#record();
        }
      }
      await this.#deliverDue(now);
      const pending = await this.#pending();
      const next = nextAlarm(record, pending);
      if (next !== null && (record?.endedAt === undefined || pending.length || now < next)) {
        await this.ctx.storage.setAlarm(next);
        return;
      }
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    } catch (error) {
      console.error(`BrowserSession ${this.ctx.id.toString()} alarm failed`, error);
      throw error;
    }
  }

  async #deliverDue(now: number): Promise<void> {
    const pending = await this.#pending();
    const due = pending.filter((d) => d.dueAt <= now);
    if (!due.length) return;
    const outcomes = await Promise.all(
      due.map(async (delivery) => {
        try {
          return await BrowserSession.deliver(this.env, { clientId: delivery.clientId, sub: delivery.sub, sid: delivery.sid });
        } catch (error) {
          // The contract says it never throws; if it does, treat it as a failure worth a retry.
          console.error(`BrowserSession back-channel delivery to ${delivery.clientId} threw`, error);
          return 'retry' as const;
        }
      }),
    );
    const kept: PendingDelivery[] = pending.filter((d) => d.dueAt > now);
    due.forEach((delivery, i) => {
      const outcome = outcomes[i]!;
      const next = afterTry(delivery, outcome, Date.now(), nextRetryDelayMs);
      // One structured line per try (docs/deploy.md §7): delivered, not-registered, refused (not
      // retried), retry, or gave-up after the bounded retries.
      const gaveUp = !!next && 'gaveUp' in next;
      const fields = { outcome: gaveUp ? 'gave-up' : outcome, client_id: delivery.clientId, sub: delivery.sub };
      logEvent('backchannel.delivery', fields, gaveUp || outcome === 'refused' ? 'error' : 'info');
      if (next && !gaveUp) kept.push(next as PendingDelivery);
    });
    await this.ctx.storage.put(KEY.pending, kept);
  }

  async #end(record: SessionRecord, reason: EndReason, now: number): Promise<void> {
    const { record: ended, owed } = end(record, reason, now);
    await this.ctx.storage.put(KEY.session, ended);
    logEvent('session.ended', { outcome: reason, sub: record.sub, duration_ms: now - record.createdAt });
    await this.#owe(owed);
    await this.ctx.storage.setAlarm(now);
    try {
      await forgetSession(this.env.DB, this.ctx.id.toString());
    } catch (error) {
      // A stale index row only makes a later revocation try an ended session (a no-op).
      console.error(`BrowserSession ${this.ctx.id.toString()} could not remove its index row`, error);
    }
  }

  async #owe(owed: PendingDelivery[]): Promise<void> {
    if (!owed.length) return;
    await this.ctx.storage.put(KEY.pending, [...(await this.#pending()), ...owed]);
    await this.ctx.storage.setAlarm(Math.min(...owed.map((d) => d.dueAt)));
  }

  /** Moves the session's index row to its (new) device; false, writing nothing, if that device is revoked. */
  async #indexUnlessRevoked(record: SessionRecord): Promise<boolean> {
    const { meta } = await indexSessionUnlessRevoked(this.env.DB, {
      sessionId: this.ctx.id.toString(),
      deviceId: record.deviceId,
      sub: record.sub,
      expiresAt: record.createdAt + record.absoluteSeconds * 1000,
    }).run();
    return meta.changes > 0;
  }

  async #valid(secretHash: string): Promise<SessionRecord | null> {
    const record = await this.#record();
    if (!record || typeof secretHash !== 'string' || !timingSafeEqual(record.secretHash, secretHash)) return null;
    if (endedBy(record, Date.now()) !== null) return null;
    return record;
  }

  #record(): Promise<SessionRecord | undefined> {
    return this.ctx.storage.get<SessionRecord>(KEY.session);
  }

  async #pending(): Promise<PendingDelivery[]> {
    return (await this.ctx.storage.get<PendingDelivery[]>(KEY.pending)) ?? [];
  }
}
