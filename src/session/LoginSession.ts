import { DurableObject } from 'cloudflare:workers';
import { ProblemError, problems, type ProblemData } from '../http/problem.ts';
import { answerMessage, buildLoginUrl, importDeviceKey, signedMessage, verifyWithDeviceKey } from '../mobile/protocol.ts';
import { checkStoredFrame, dropTickIfUnwatched, frameLinks, frameTick, newRotation, scheduleTick, spendLaunchToken, type FrameKind, type FrameMemo } from './rotation.ts';
import { randomToken, timingSafeEqual } from './crypto.ts';
import { observeLogin } from './observe.ts';
import { createLogin, isTerminal, transition, type LoginEvent, type LoginRecord } from './machine.ts';
import {
  introspectAccessToken,
  issueCode,
  redeemCode,
  revokeAccessToken,
  type BrowserSessionLink,
  type Grant,
  type GrantHost,
  type GrantResult,
  type IssuedCode,
} from './grants.ts';
import { continueLogin, linkBrowserSession, startFromSession, withdrawCode, type ContinueOutcome, type SessionStart } from './handback.ts';
import type { Redemption } from './tokens.ts';
import { cancelledProblem, refusalProblem, staleFrame, wrongIdentity } from './refusals.ts';
import { broadcast, closeOldestSockets, echoClose, parseSocketMessage, setSocketHidden, shownSockets, upgradeResponse, type SocketAttachment } from './sockets.ts';
import { judgePick, NUMBER_MATCH_KEY, numberMatchEntry, numberMatchOf, storedNumberMatch } from './number-match.ts';

export { MAX_PAGE_SOCKETS, SOCKET_REPLACED_CODE } from './sockets.ts';

// Kept here for callers that import them from the object's module.
export type { BrowserSessionLink, Grant, GrantResult } from './grants.ts';
import type {
  AnswerInput,
  AnswerResult,
  DeviceKey,
  LoginContext,
  LoginSnapshot,
  Result,
  ScanInput,
  StartLogin,
} from './types.ts';

/** How long a login that ended without approval is kept so a reconnecting page learns the outcome (ms). */
export const ENDED_RETENTION_MS = 10 * 60 * 1000;
/** Header by which the Worker passes the SHA-256 of the binding cookie to the object. */
export const BINDING_HEADER = 'X-Login-Binding';

/** Durable Object storage keys (listed in docs/storage.md). */
const KEY = {
  login: 'login', // LoginRecord
  start: 'start', // StartLogin without bindingHash (client, claims, requester, locale, authorization)
  binding: 'binding', // SHA-256 hex of the binding cookie
  device: 'device', // DeviceKey of the device that scanned
  nonce: 'nonce', // server nonce issued at scan time, bound into the answer's signature
  retainUntil: 'retainUntil', // epoch ms after which the alarm deletes everything
  successor: 'successor', // id of the login "Start again" last started from this one
} as const;

type Stored = Omit<StartLogin, 'bindingHash' | 'validitySeconds'>;

const notFound = (): ProblemData => problems.notFound('No such login.').toJSON();

/** Why a request with `bindingHash` may not see the login whose stored binding is `stored`, or null when it may. */
function bindingProblem(stored: string | undefined, bindingHash: string): ProblemData | null {
  if (!stored) return notFound();
  if (!bindingHash || !timingSafeEqual(stored, bindingHash)) return problems.loginBinding().toJSON();
  return null;
}

/**
 * One login attempt: its state machine, its expiry alarm and the page's hibernatable WebSockets.
 * The Worker reaches it by the id in the page URL, the QR and (later) the authorization code.
 *
 * RPC methods return {@link Result}s rather than throwing, because errors crossing RPC keep
 * only their message. Storage is the SQLite-backed key-value API; keys are in docs/storage.md.
 */
export class LoginSession extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  /**
   * Starts the login: stores its context and schedules the expiry alarm.
   * @returns the first snapshot; a `conflict` problem if this object was already started.
   */
  async start(init: StartLogin): Promise<Result<LoginSnapshot>> {
    if (await this.ctx.storage.get(KEY.login)) {
      return { ok: false, problem: new ProblemError('conflict', 409, 'Login already started').toJSON() };
    }
    const record = createLogin(Date.now(), init.validitySeconds);
    const { bindingHash, validitySeconds: _validity, ...stored } = init;
    await this.ctx.storage.put({
      [KEY.login]: record,
      [KEY.start]: stored satisfies Stored,
      [KEY.binding]: bindingHash,
      ...newRotation(), // the QR's frame key and the launch token (./rotation.ts)
    });
    await this.ctx.storage.setAlarm(record.expiresAt);
    observeLogin(this.env, (p) => this.ctx.waitUntil(p), this.#id, init.client.id, undefined, record);
    return { ok: true, value: await this.#snapshot(record, 's', stored) };
  }

  /**
   * The current snapshot for the browser holding the binding cookie (its SHA-256 hex). The
   * binding, the record and the start context in one storage read.
   */
  async read(bindingHash: string): Promise<Result<LoginSnapshot>> {
    const got = await this.ctx.storage.get([KEY.binding, KEY.login, KEY.start]);
    const problem = bindingProblem(got.get(KEY.binding) as string | undefined, bindingHash);
    if (problem) return { ok: false, problem };
    return { ok: true, value: await this.#snapshot(got.get(KEY.login) as LoginRecord | undefined, 's', got.get(KEY.start) as Stored | undefined) };
  }

  /** Cancels a pending or scanned login from the browser that started it. Idempotent. */
  async cancel(bindingHash: string): Promise<Result<LoginSnapshot>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return { ok: false, problem };
    return this.#apply({ type: 'cancel', at: Date.now() });
  }

  /**
   * A device reads the login from its QR and claims it.
   * Checks the QR secret and the device's signature over the scan message, then moves the login
   * to `scanned` (idempotent for the same device) and issues the nonce its answer must sign.
   * One storage read of the login (the QR frame's key is read beside it) and one write for the
   * claim (record, device, nonce, number match).
   */
  async scan(input: ScanInput): Promise<Result<LoginContext>> {
    const got = await this.ctx.storage.get([KEY.login, KEY.start, KEY.nonce, NUMBER_MATCH_KEY, KEY.retainUntil]);
    const record = got.get(KEY.login) as LoginRecord | undefined;
    const started = got.get(KEY.start) as Stored | undefined;
    if (!record || !started) return { ok: false, problem: notFound() };
    const frame = await checkStoredFrame(this.ctx.storage, this.#id, record.createdAt, input.frame, Date.now(), this.#frames);
    // A genuine but old frame of a login that has moved on hears what became of the login instead;
    // a used launch token is refused while the login is open, even to the device that used it.
    const open = (record.state === 'pending' && Date.now() < record.expiresAt) || (input.frame.startsWith('l.') && !isTerminal(record.state));
    if (!frame.ok && (frame.reason === 'unknown' || open)) return { ok: false, problem: frame.reason === 'stale' ? staleFrame() : notFound() };
    const checked = await this.#checkSignature(input.device, input.signature, signedMessage({
      origin: this.#origin,
      action: 'scan',
      loginId: this.#id,
      deviceId: input.device.id,
    }));
    if (checked) return { ok: false, problem: checked };
    if (started.requiredSub !== undefined && started.requiredSub !== input.device.sub) return { ok: false, problem: wrongIdentity() };

    // The first scan draws the nonce (and the number match); a repeat keeps them and refreshes
    // the device's name and key (same device id).
    let nonce = got.get(KEY.nonce) as string | undefined;
    let match = numberMatchOf(got.get(NUMBER_MATCH_KEY));
    const result = await this.#apply({ type: 'scan', deviceId: input.device.id, at: Date.now() }, {
      loaded: { record, stored: started, retainUntil: got.get(KEY.retainUntil) as number | undefined },
      entries: async (_next, changed) => {
        if (!changed) return { [KEY.device]: input.device };
        if (frame.ok && frame.kind === 'launch') await spendLaunchToken(this.ctx.storage);
        const drawn = numberMatchEntry(started.client);
        nonce = randomToken(16);
        match = numberMatchOf(drawn[NUMBER_MATCH_KEY]);
        return { [KEY.device]: input.device, [KEY.nonce]: nonce, ...drawn };
      },
    });
    if (!result.ok) return result;
    const latest = result.record;
    return {
      ok: true,
      value: {
        loginId: this.#id,
        client: started.client,
        claims: started.claims,
        requester: started.requester,
        createdAt: latest.createdAt,
        expiresAt: latest.expiresAt,
        now: Date.now(),
        nonce: nonce!,
        state: latest.state,
        ...(match ? { numberChoices: match.choices } : {}),
      },
    };
  }

  /**
   * The claiming device approves or denies. Verifies the signature over (decision, login id, scan
   * nonce, device id, number, consent: exactly as submitted) against the device key loaded for this request.
   * Two racing answers: the object runs them one at a time, so exactly one takes effect and the
   * other is refused with `login-decided` (or succeeds unchanged if it is the same decision).
   * One storage read and one write (the record and the retention, with the alarm), in one
   * transaction, before the pages are told.
   */
  async answer(input: AnswerInput): Promise<Result<AnswerResult>> {
    const got = await this.ctx.storage.get([KEY.login, KEY.start, KEY.nonce, NUMBER_MATCH_KEY, KEY.retainUntil]);
    const record = got.get(KEY.login) as LoginRecord | undefined;
    const stored = got.get(KEY.start) as Stored | undefined;
    if (!record || !stored) return { ok: false, problem: notFound() };
    if (record.state === 'pending') return { ok: false, problem: refusalProblem['not-scanned']().toJSON() };
    const nonce = got.get(KEY.nonce) as string | undefined;
    let message: Uint8Array<ArrayBuffer>;
    try {
      message = answerMessage(this.#origin, this.#id, input);
    } catch {
      return { ok: false, problem: new ProblemError('invalid-nonce', 400, 'Invalid nonce').toJSON() };
    }
    const checked = await this.#checkSignature(input.device, input.signature, message);
    if (checked) return { ok: false, problem: checked };
    if (stored.requiredSub !== undefined && stored.requiredSub !== input.device.sub) return { ok: false, problem: wrongIdentity() };
    if (!nonce || !timingSafeEqual(nonce, input.nonce)) {
      return {
        ok: false,
        problem: new ProblemError('invalid-nonce', 400, 'Invalid nonce', {
          detail: 'The nonce is not the one issued when this device scanned the login.',
        }).toJSON(),
      };
    }
    const pick = judgePick(numberMatchOf(got.get(NUMBER_MATCH_KEY)), input.decision, input.number);
    if (!pick.ok) return pick;
    const approve = input.decision === 'approve' && !pick.wrong;
    const result = await this.#apply(
      { type: approve ? 'approve' : 'deny', deviceId: input.device.id, at: Date.now() },
      { loaded: { record, stored, retainUntil: got.get(KEY.retainUntil) as number | undefined } },
    );
    if (!result.ok) return result;
    return {
      ok: true,
      value: {
        state: result.value.state,
        client: stored.client,
        sub: input.device.sub,
        changed: result.changed === true,
        claims: stored.claims,
        requester: stored.requester,
        ...(pick.wrong ? { wrongNumber: true } : {}),
      },
    };
  }

  /** The authorization request, for "Start again" after a login ended without approval. */
  async restartRequest(bindingHash: string): Promise<Result<Omit<StartLogin, 'bindingHash' | 'validitySeconds'>>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return { ok: false, problem };
    const record = (await this.#record())!;
    if (record.state === 'approved') return { ok: false, problem: refusalProblem.ended().toJSON() };
    return { ok: true, value: (await this.ctx.storage.get<Stored>(KEY.start))! };
  }

  /**
   * Records the login "Start again" just started from this one (for the browser holding the
   * binding cookie) and returns the one recorded before, if any, so the caller can end it: one
   * authorization request has at most one live login.
   */
  async recordSuccessor(bindingHash: string, successorId: string): Promise<Result<string | null>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return { ok: false, problem };
    const previous = (await this.ctx.storage.get<string>(KEY.successor)) ?? null;
    await this.ctx.storage.put(KEY.successor, successorId);
    return { ok: true, value: previous };
  }

  /**
   * Ends this login because "Start again" on its predecessor replaced it (the Worker calls this
   * only with an id its predecessor recorded). Cancels a pending or scanned login; else nothing.
   */
  async supersede(): Promise<void> {
    const record = await this.#record();
    if (record && !isTerminal(record.state)) await this.#apply({ type: 'cancel', at: Date.now() });
  }

  // ── OIDC: the hand-back, codes and tokens (issues 4, 10, 13), in ./handback.ts and ./grants.ts ──

  /** See {@link continueLogin} in ./handback.ts: all `/continue` needs, in one call. */
  async continueLogin(bindingHash: string, session: { id: string; sid: string }): Promise<Result<ContinueOutcome>> {
    return continueLogin(this.#grantHost, bindingHash, session);
  }

  /** See {@link withdrawCode} in ./handback.ts. */
  async withdrawCode(bindingHash: string): Promise<Result<null>> {
    return withdrawCode(this.#grantHost, bindingHash);
  }

  /** See {@link linkBrowserSession} in ./handback.ts. */
  async linkBrowserSession(bindingHash: string, link: BrowserSessionLink): Promise<Result<null>> {
    return linkBrowserSession(this.#grantHost, bindingHash, link);
  }

  /** See {@link startFromSession} in ./handback.ts (single sign-on, without the phone). */
  async startFromSession(init: SessionStart): Promise<Result<IssuedCode>> {
    return startFromSession(this.#grantHost, init);
  }

  /** See {@link issueCode} in ./grants.ts. */
  async issueCode(bindingHash: string): Promise<Result<IssuedCode>> {
    return issueCode(this.#grantHost, bindingHash);
  }

  /** See {@link redeemCode} in ./grants.ts. */
  async redeemCode(input: Redemption): Promise<GrantResult<Grant>> {
    return redeemCode(this.#grantHost, input);
  }

  /** See {@link introspectAccessToken} in ./grants.ts. */
  async introspectAccessToken(
    accessToken: string,
  ): Promise<GrantResult<{ sub: string; scope: string; clientId: string; deviceId: string; claims: string[] }>> {
    return introspectAccessToken(this.#grantHost, accessToken);
  }

  /** See {@link revokeAccessToken} in ./grants.ts. */
  async revokeAccessToken(accessToken: string | { hash: string }, clientId: string): Promise<boolean> {
    return revokeAccessToken(this.#grantHost, accessToken, clientId);
  }

  /** What ./grants.ts and ./handback.ts may use of this object: its storage and its transitions. */
  get #grantHost(): GrantHost {
    return {
      id: this.#id,
      storage: this.ctx.storage,
      checkBinding: (bindingHash) => this.#checkBinding(bindingHash),
      record: () => this.#record(),
      authorization: async () => (await this.ctx.storage.get<Stored>(KEY.start))!.authorization,
      device: async () => (await this.ctx.storage.get<DeviceKey>(KEY.device))!,
      apply: (event) => this.#apply(event),
      retainUntil: (until) => this.retainUntil(until),
      keys: KEY,
      endedRetentionMs: ENDED_RETENTION_MS,
    };
  }

  /** Page WebSocket upgrade (`GET /login/:id/ws`); the Worker has already checked the route. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json(new ProblemError('upgrade-required', 426, 'WebSocket upgrade required').toBody(), {
        status: 426,
        headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
      });
    }
    const problem = await this.#checkBinding(request.headers.get(BINDING_HEADER) ?? '');
    if (problem) {
      return new Response(JSON.stringify(ProblemError.from(problem).toBody()), {
        status: problem.status,
        headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
      });
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ openedAt: Date.now() } satisfies SocketAttachment);
    closeOldestSockets(this.ctx.getWebSockets());
    const record = await this.#record();
    if (record?.state === 'pending') await scheduleTick(this.ctx.storage, record.createdAt, record.expiresAt, Date.now());
    server.send(JSON.stringify(await this.#snapshot(record, 'r')));
    return upgradeResponse(client); // uncompressed (./sockets.ts)
  }

  /**
   * Page messages: `{"type":"refresh"}` re-sends the snapshot (and QR frames again to a page that
   * was hidden), `{"type":"hidden"}` stops the frames to a page not shown (./rotation.ts),
   * `{"type":"cancel"}` cancels.
   */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const parsed = parseSocketMessage(message, ['refresh', 'cancel', 'hidden'] as const);
      if ('problem' in parsed) ws.send(JSON.stringify(parsed.problem));
      else if (parsed.type === 'hidden') {
        setSocketHidden(ws, true);
        const record = await this.#record();
        if (record?.state === 'pending') await dropTickIfUnwatched(this.ctx.storage, record, shownSockets(this.ctx.getWebSockets()));
      }
      else if (parsed.type === 'refresh') {
        setSocketHidden(ws, false);
        const record = await this.#record();
        ws.send(JSON.stringify(await this.#snapshot(record, 'r')));
        if (record?.state === 'pending') await scheduleTick(this.ctx.storage, record.createdAt, record.expiresAt, Date.now());
      } else await this.#apply({ type: 'cancel', at: Date.now() });
    } catch (error) {
      console.error(`LoginSession ${this.#id} webSocketMessage failed`, error);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    echoClose(ws, code);
  }

  /**
   * Expiry and clean-up. Alarms run at least once, so this is idempotent: a second run finds
   * the login already expired and only (re)schedules or performs the clean-up.
   */
  override async alarm(): Promise<void> {
    try {
      const record = await this.#record();
      if (!record) return;
      const now = Date.now();
      if (!isTerminal(record.state)) {
        if (now < record.expiresAt) {
          // A pending login's shown pages get a new QR frame every second (./rotation.ts).
          const shown = record.state === 'pending' ? shownSockets(this.ctx.getWebSockets()) : [];
          await frameTick(this.ctx.storage, record, shown, now, () => this.#snapshot(record, 'r'));
          return;
        }
        await this.#apply({ type: 'expire', at: now });
        return;
      }
      const retainUntil = await this.ctx.storage.get<number>(KEY.retainUntil);
      if (retainUntil !== undefined && now < retainUntil) {
        await this.ctx.storage.setAlarm(retainUntil);
        return;
      }
      for (const ws of this.ctx.getWebSockets()) {
        try {
          ws.close(1000, 'login removed');
        } catch {
          // already closed
        }
      }
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    } catch (error) {
      console.error(`LoginSession ${this.#id} alarm failed`, error);
      throw error; // let the runtime retry the alarm
    }
  }

  /**
   * Keeps the object's storage until at least `until` (epoch ms), for data that outlives the
   * login (issued codes and tokens). Only ever extends.
   */
  protected async retainUntil(until: number): Promise<void> {
    const current = (await this.ctx.storage.get<number>(KEY.retainUntil)) ?? 0;
    if (until > current) {
      await this.ctx.storage.put(KEY.retainUntil, until);
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null || alarm < until) await this.ctx.storage.setAlarm(until);
    }
  }

  get #id(): string {
    return this.ctx.id.toString();
  }

  /** The issuer's origin, which every v2 signature names. */
  get #origin(): string {
    return new URL(this.env.ISSUER).origin;
  }

  async #record(): Promise<LoginRecord | undefined> {
    return this.ctx.storage.get<LoginRecord>(KEY.login);
  }

  async #checkBinding(bindingHash: string): Promise<ProblemData | null> {
    return bindingProblem(await this.ctx.storage.get<string>(KEY.binding), bindingHash);
  }

  async #checkSignature(device: DeviceKey, signature: string, message: Uint8Array<ArrayBuffer>): Promise<ProblemData | null> {
    if (!(await verifyWithDeviceKey(await this.#importKey(device), message, signature))) {
      return new ProblemError('invalid-signature', 401, 'Invalid signature', {
        detail: 'The signature does not verify with this device key over the expected message.',
      }).toJSON();
    }
    return null;
  }

  /**
   * The device key this object last imported, while it stays in memory, so a scan's import serves
   * its answer. Used only for the very key the Worker loaded from D1 for the request (same
   * coordinates), so a revocation is never outlived: the Worker refuses a revoked key before.
   */
  #key?: { jwk: string; key: CryptoKey | null };

  /** The imported frame key and the last socket snapshot's drawn frames (./rotation.ts {@link FrameMemo}). */
  #frames: FrameMemo = {};

  async #importKey(device: DeviceKey): Promise<CryptoKey | null> {
    const jwk = `${device.publicJwk.x}.${device.publicJwk.y}`;
    if (this.#key?.jwk !== jwk) this.#key = { jwk, key: await importDeviceKey(device.publicJwk) };
    return this.#key.key;
  }

  /**
   * Applies an event: persists a change in one storage write (the record, the caller's `entries`
   * and, when the login just ended, how long it is kept), tells the pages of a change they can
   * see, and schedules clean-up.
   * @param options.loaded the record, start context and retention the caller has already read
   *   (in the same storage read as its own checks); read here when omitted.
   * @param options.entries more entries to write with the transition, only when it succeeds.
   * @returns the snapshot, whether the record changed, and the resulting record.
   */
  async #apply(
    event: LoginEvent,
    options: {
      loaded?: { record: LoginRecord | undefined; stored: Stored | undefined; retainUntil: number | undefined };
      entries?: (next: LoginRecord, changed: boolean) => Promise<Record<string, unknown>>;
    } = {},
  ): Promise<(Result<LoginSnapshot> & { changed?: boolean }) & ({ ok: false } | { ok: true; record: LoginRecord })> {
    const { record, stored, retainUntil } = options.loaded ?? (await this.#load());
    if (!record) return { ok: false, problem: notFound() };
    const result = transition(record, event);
    const writes: Record<string, unknown> = result.changed ? { [KEY.login]: result.record } : {};
    if (result.ok && options.entries) Object.assign(writes, await options.entries(result.record, result.changed));
    const ended = result.changed && isTerminal(result.record.state) && !isTerminal(record.state);
    const until = event.at + ENDED_RETENTION_MS;
    const extend = ended && until > (retainUntil ?? 0);
    if (extend) writes[KEY.retainUntil] = until;
    if (Object.keys(writes).length > 0) await this.ctx.storage.put(writes);
    if (extend) {
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null || alarm < until) await this.ctx.storage.setAlarm(until);
    }
    const snapshot = await this.#snapshot(result.record, 's', stored);
    // Pages see the state; a change they cannot see (the code's redemption) is no news to them.
    if (result.changed && result.record.state !== record.state) broadcast(this.ctx.getWebSockets(), snapshot);
    if (result.changed) observeLogin(this.env, (p) => this.ctx.waitUntil(p), this.#id, stored?.client.id, record, result.record);
    if (!result.ok) {
      // A phone answering a login the browser cancelled is told so, not just "ended".
      const cancelled = result.refusal === 'ended' && result.record.state === 'cancelled';
      return { ok: false, problem: (cancelled ? cancelledProblem() : refusalProblem[result.refusal]()).toJSON() };
    }
    return { ok: true, value: snapshot, changed: result.changed, record: result.record };
  }

  /** The record, the start context and the retention, in one storage read. */
  async #load(): Promise<{ record: LoginRecord | undefined; stored: Stored | undefined; retainUntil: number | undefined }> {
    const got = await this.ctx.storage.get([KEY.login, KEY.start, KEY.retainUntil]);
    return {
      record: got.get(KEY.login) as LoginRecord | undefined,
      stored: got.get(KEY.start) as Stored | undefined,
      retainUntil: got.get(KEY.retainUntil) as number | undefined,
    };
  }

  /**
   * @param kind the QR frame: `r` (rotating) for page sockets, `s` (static) for HTTP reads.
   * @param started the start context when the caller has it; read here when omitted.
   */
  async #snapshot(record: LoginRecord | undefined, kind: FrameKind = 's', started?: Stored): Promise<LoginSnapshot> {
    const stored = started ?? (await this.ctx.storage.get<Stored>(KEY.start));
    if (!record || !stored) throw new Error('snapshot of a login that was never started');
    const snapshot: LoginSnapshot = {
      type: 'snapshot',
      id: this.#id,
      state: record.state,
      expiresAt: record.expiresAt,
      now: Date.now(),
      client: { name: stored.client.name },
      locale: stored.locale,
    };
    if (record.state === 'pending') {
      const links = await frameLinks(this.ctx.storage, this.#id, record.createdAt, kind, snapshot.now, (frame) => buildLoginUrl(this.#origin, this.#id, frame), this.#frames);
      Object.assign(snapshot, links);
    }
    // No device name (often the person's own name): the page learns only that a key scanned,
    // never who, before the service does (issue 14, review 5).
    if (record.state === 'approved') snapshot.continueUrl = `/login/${this.#id}/continue`;
    const match = record.state === 'scanned' ? await storedNumberMatch(this.ctx.storage) : undefined;
    if (match) snapshot.matchNumber = match.number;
    if (record.state === 'denied' || record.state === 'expired' || record.state === 'cancelled') {
      snapshot.restartUrl = `/login/${this.#id}/restart`;
    }
    // The session only knows whether it was handed somewhere to return to; src/oidc/return.ts answers.
    if (record.state !== 'approved' && typeof stored.authorization.redirect_uri === 'string') {
      snapshot.returnUrl = `/login/${this.#id}/return`;
    }
    return snapshot;
  }
}
