import { DurableObject } from 'cloudflare:workers';
import { ProblemError, problems, type ProblemData } from '../http/problem.ts';
import { newDeviceId, type PublicP256Jwk } from '../identity/devices.ts';
import { verifyDeviceSignature } from '../mobile/protocol.ts';
import { notify } from '../notifications/notify.ts';
import { randomToken, timingSafeEqual } from '../session/crypto.ts';
import { broadcast, closeOldestSockets, echoClose, parseSocketMessage, upgradeResponse, type SocketAttachment } from '../session/sockets.ts';
import type { Result } from '../session/types.ts';
import type { RequesterText } from '../http/names.ts';
import { pairedDeviceStatements } from './enrol.ts';
import { createPairing, isPairingTerminal, pairingTransition, type PairingEvent, type PairingRecord } from './machine.ts';
import { buildPairingUrl, keyThumbprint, pairClaimMessage, pairConfirmMessage } from './protocol.ts';
import { pairingProblem } from './problems.ts';
import type { ClaimInput, ClaimStatus, ConfirmInput, PairingInvitation, PairingSnapshot, StartPairing } from './types.ts';

/** How long a pairing that ended is kept so a reconnecting page or the new device learns the outcome (ms). */
export const PAIRING_RETENTION_MS = 10 * 60 * 1000;
/** Header by which the Worker passes the SHA-256 of the binding cookie to the object. */
export const PAIRING_BINDING_HEADER = 'X-Pairing-Binding';

/** Durable Object storage keys (listed in docs/storage.md). */
const KEY = {
  pairing: 'pairing', // PairingRecord
  start: 'start', // Omit<StartPairing, 'bindingHash' | 'validitySeconds'>
  binding: 'binding', // SHA-256 hex of the binding cookie
  secret: 'secret', // the QR secret
  claim: 'claim', // Claim: the new key, its proposed name and browser, its device id, the confirm nonce
  retainUntil: 'retainUntil', // epoch ms after which the alarm deletes everything
} as const;

type Stored = Omit<StartPairing, 'bindingHash' | 'validitySeconds'>;

interface Claim {
  deviceId: string;
  publicJwk: PublicP256Jwk;
  name: string;
  requester: RequesterText;
  nonce: string;
}

const notFound = (): ProblemData => problems.notFound('No such pairing.').toJSON();
const fail = <T,>(problem: ProblemData): Result<T> => ({ ok: false, problem });

/**
 * One pairing of a new key from an existing one (docs/pairing.md): its state machine, its
 * 4-minute expiry alarm, the starting page's hibernatable WebSockets, and — on confirmation —
 * the new key's enrolment in D1 and the notification to the identity's other keys.
 *
 * RPC methods return {@link Result}s rather than throwing (errors crossing RPC keep only their message).
 */
export class Pairing extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  /** Starts the pairing and schedules its expiry. @returns the first snapshot; `conflict` if already started. */
  async start(init: StartPairing): Promise<Result<PairingSnapshot>> {
    if (await this.ctx.storage.get(KEY.pairing)) return fail(new ProblemError('conflict', 409, 'Pairing already started').toJSON());
    const record = createPairing(Date.now(), init.validitySeconds);
    const { bindingHash, validitySeconds: _v, ...stored } = init;
    await this.ctx.storage.put({
      [KEY.pairing]: record,
      [KEY.start]: stored satisfies Stored,
      [KEY.binding]: bindingHash,
      [KEY.secret]: randomToken(24),
    });
    await this.ctx.storage.setAlarm(record.expiresAt);
    return { ok: true, value: await this.#snapshot(record) };
  }

  /** The snapshot for the browser (or CLI) holding the binding cookie. */
  async read(bindingHash: string): Promise<Result<PairingSnapshot>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return fail(problem);
    return { ok: true, value: await this.#snapshot((await this.#record())!) };
  }

  /** Cancels a live pairing (also: refusing the key that claimed it) from the starting browser. Idempotent. */
  async cancel(bindingHash: string): Promise<Result<PairingSnapshot>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return fail(problem);
    return this.#apply({ type: 'cancel', at: Date.now() });
  }

  /** What the new device shows before it makes a key: whose identity it joins. Needs the QR secret. */
  async open(secret: string): Promise<Result<PairingInvitation>> {
    const problem = await this.#checkSecret(secret);
    if (problem) return fail(problem);
    const record = await this.#current();
    if (isPairingTerminal(record.state) && record.state !== 'completed') return fail(this.#endedProblem(record));
    const stored = (await this.ctx.storage.get<Stored>(KEY.start))!;
    return { ok: true, value: { state: record.state, identityName: stored.identityName, expiresAt: record.expiresAt, now: Date.now() } };
  }

  /**
   * The new device claims the pairing with its new public key and proposed name, signed with the
   * new key (proof of possession). The same key claiming again gets the same answer; another key
   * is refused with `pairing-claimed`.
   */
  async claim(input: ClaimInput): Promise<Result<ClaimStatus>> {
    const problem = await this.#checkSecret(input.secret);
    if (problem) return fail(problem);
    const thumbprint = await keyThumbprint(input.publicJwk);
    const signed = await verifyDeviceSignature(input.publicJwk, pairClaimMessage({ pairingId: this.#id, thumbprint }), input.signature);
    if (!signed) {
      return fail(new ProblemError('invalid-signature', 401, 'Invalid signature', {
        detail: 'The signature does not verify with the public key sent over the pairing claim message.',
      }).toJSON());
    }
    const result = await this.#apply({ type: 'claim', thumbprint, at: Date.now() }, async (_next, changed) => {
      if (!changed) return;
      const claim: Claim = { deviceId: newDeviceId(), publicJwk: input.publicJwk, name: input.name, requester: input.requester, nonce: randomToken(16) };
      await this.ctx.storage.put(KEY.claim, claim);
    });
    if (!result.ok) return result;
    return { ok: true, value: await this.#claimStatus() };
  }

  /** The new device asks how its claim stands (it polls until completed). Needs the secret and its device id. */
  async status(secret: string, deviceId: string): Promise<Result<ClaimStatus>> {
    const problem = await this.#checkSecret(secret);
    if (problem) return fail(problem);
    const claim = await this.ctx.storage.get<Claim>(KEY.claim);
    if (!claim || typeof deviceId !== 'string' || !timingSafeEqual(claim.deviceId, deviceId)) return fail(notFound());
    await this.#current();
    return { ok: true, value: await this.#claimStatus() };
  }

  /**
   * The existing key confirms the claimed key: verifies the binding cookie, that the signer is
   * the key that started the pairing, and its signature over (pairing id, claim nonce, its
   * device id); then enrols the new key in D1 and completes. Idempotent: a repeat answers the
   * completed snapshot and writes nothing.
   */
  async confirm(input: ConfirmInput): Promise<Result<PairingSnapshot>> {
    const problem = await this.#checkBinding(input.bindingHash);
    if (problem) return fail(problem);
    const stored = (await this.ctx.storage.get<Stored>(KEY.start))!;
    if (input.deviceId !== stored.starterDeviceId) return fail(pairingProblem.wrongDevice());
    const record = await this.#current();
    if (record.state === 'pending') return fail(pairingProblem.notClaimed());
    const claim = await this.ctx.storage.get<Claim>(KEY.claim);
    let message: Uint8Array<ArrayBuffer>;
    try {
      message = pairConfirmMessage({ pairingId: this.#id, nonce: input.nonce, deviceId: input.deviceId });
    } catch {
      return fail(new ProblemError('invalid-nonce', 400, 'Invalid nonce').toJSON());
    }
    if (!(await verifyDeviceSignature(input.publicJwk, message, input.signature))) {
      return fail(new ProblemError('invalid-signature', 401, 'Invalid signature', {
        detail: 'The signature does not verify with this device key over the pairing confirmation message.',
      }).toJSON());
    }
    if (!claim || !timingSafeEqual(claim.nonce, input.nonce)) {
      return fail(new ProblemError('invalid-nonce', 400, 'Invalid nonce', { detail: 'The nonce is not the one of this pairing’s claim.' }).toJSON());
    }
    if ((stored.starter ?? 'device') !== 'device') return fail(pairingProblem.wrongDevice());
    return this.#complete(stored, claim);
  }

  /**
   * The account's browser confirms a pairing its single sign-on session started: the binding
   * cookie and the session's identity (checked by the Worker) stand in for the key's signature.
   * Idempotent like {@link confirm}.
   */
  async confirmFromSession(bindingHash: string, sub: string): Promise<Result<PairingSnapshot>> {
    const problem = await this.#checkBinding(bindingHash);
    if (problem) return fail(problem);
    const stored = (await this.ctx.storage.get<Stored>(KEY.start))!;
    if (stored.starter !== 'session' || stored.sub !== sub) return fail(pairingProblem.wrongDevice());
    const record = await this.#current();
    if (record.state === 'pending') return fail(pairingProblem.notClaimed());
    const claim = await this.ctx.storage.get<Claim>(KEY.claim);
    if (!claim) return fail(this.#endedProblem(record));
    return this.#complete(stored, claim);
  }

  /** Completes a claimed pairing: the new key's device row first, then the state, then the notification. */
  #complete(stored: Stored, claim: Claim): Promise<Result<PairingSnapshot>> {
    const now = Date.now();
    return this.#apply({ type: 'confirm', at: now }, async (_next, changed) => {
      if (!changed) return;
      // Enrolled before the state is committed: a D1 failure leaves the pairing claimed, to retry.
      await this.env.DB.batch(
        pairedDeviceStatements(this.env.DB, {
          deviceId: claim.deviceId,
          sub: stored.sub,
          publicJwk: claim.publicJwk,
          name: claim.name,
          starterDeviceId: stored.starterDeviceId,
          pairingId: this.#id,
          platform: { browser: claim.requester.browser, os: claim.requester.os },
        }, now),
      );
      this.ctx.waitUntil(this.#notifyPaired(stored.sub, claim, now));
    });
  }

  /** Snapshot WebSocket upgrade (`GET /api/pairings/:id/ws`); the Worker has checked the route. */
  override async fetch(request: Request): Promise<Response> {
    const refuse = (error: ProblemError) =>
      new Response(JSON.stringify(error.toBody()), {
        status: error.status,
        headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
      });
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return refuse(new ProblemError('upgrade-required', 426, 'WebSocket upgrade required'));
    }
    const problem = await this.#checkBinding(request.headers.get(PAIRING_BINDING_HEADER) ?? '');
    if (problem) return refuse(ProblemError.from(problem));
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ openedAt: Date.now() } satisfies SocketAttachment);
    closeOldestSockets(this.ctx.getWebSockets());
    server.send(JSON.stringify(await this.#snapshot(await this.#current())));
    return upgradeResponse(client); // uncompressed (../session/sockets.ts)
  }

  /** `{"type":"refresh"}` re-sends the snapshot, `{"type":"cancel"}` cancels. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const parsed = parseSocketMessage(message, ['refresh', 'cancel'] as const);
      if ('problem' in parsed) ws.send(JSON.stringify(parsed.problem));
      else if (parsed.type === 'refresh') ws.send(JSON.stringify(await this.#snapshot(await this.#current())));
      else await this.#apply({ type: 'cancel', at: Date.now() });
    } catch (error) {
      console.error(`Pairing ${this.#id} webSocketMessage failed`, error);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    echoClose(ws, code);
  }

  /** Expiry, then clean-up after {@link PAIRING_RETENTION_MS}. Idempotent (alarms run at least once). */
  override async alarm(): Promise<void> {
    try {
      const record = await this.#record();
      if (!record) return;
      const now = Date.now();
      if (!isPairingTerminal(record.state)) {
        if (now < record.expiresAt) await this.ctx.storage.setAlarm(record.expiresAt);
        else await this.#apply({ type: 'expire', at: now });
        return;
      }
      const retainUntil = (await this.ctx.storage.get<number>(KEY.retainUntil)) ?? 0;
      if (now < retainUntil) {
        await this.ctx.storage.setAlarm(retainUntil);
        return;
      }
      for (const ws of this.ctx.getWebSockets()) {
        try {
          ws.close(1000, 'pairing removed');
        } catch {
          // already closed
        }
      }
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    } catch (error) {
      console.error(`Pairing ${this.#id} alarm failed`, error);
      throw error;
    }
  }

  get #id(): string {
    return this.ctx.id.toString();
  }

  #record(): Promise<PairingRecord | undefined> {
    return this.ctx.storage.get<PairingRecord>(KEY.pairing);
  }

  /** The record, expired first if its deadline passed before the alarm ran (callers checked it exists). */
  async #current(): Promise<PairingRecord> {
    const record = (await this.#record())!;
    if (!isPairingTerminal(record.state) && Date.now() >= record.expiresAt) await this.#apply({ type: 'expire', at: Date.now() });
    return (await this.#record())!;
  }

  async #checkBinding(bindingHash: string): Promise<ProblemData | null> {
    const stored = await this.ctx.storage.get<string>(KEY.binding);
    if (!stored) return notFound();
    if (typeof bindingHash !== 'string' || !bindingHash || !timingSafeEqual(stored, bindingHash)) return pairingProblem.binding();
    return null;
  }

  async #checkSecret(secret: string): Promise<ProblemData | null> {
    const stored = await this.ctx.storage.get<string>(KEY.secret);
    if (!stored || typeof secret !== 'string' || !timingSafeEqual(stored, secret)) return notFound();
    return null;
  }

  #endedProblem(record: PairingRecord): ProblemData {
    return record.state === 'expired' ? pairingProblem.expired() : pairingProblem.ended();
  }

  async #claimStatus(): Promise<ClaimStatus> {
    const record = (await this.#record())!;
    const stored = (await this.ctx.storage.get<Stored>(KEY.start))!;
    const claim = (await this.ctx.storage.get<Claim>(KEY.claim))!;
    const status: ClaimStatus = { state: record.state, deviceId: claim.deviceId, identityName: stored.identityName, expiresAt: record.expiresAt, now: Date.now() };
    if (record.state === 'completed') status.sub = stored.sub;
    return status;
  }

  async #notifyPaired(sub: string, claim: Claim, now: number): Promise<void> {
    try {
      const { deliveries } = await notify(this.env, { sub, type: 'device.paired', deviceId: claim.deviceId, detail: { device_name: claim.name, requester: claim.requester } }, now);
      await deliveries;
    } catch (error) {
      console.error(`Pairing ${this.#id} notification failed`, error);
    }
  }

  /**
   * Applies an event, persists and broadcasts a change, schedules clean-up when the pairing ends.
   * `beforeCommit` runs only on success and before the new state is stored.
   */
  async #apply(event: PairingEvent, beforeCommit?: (next: PairingRecord, changed: boolean) => Promise<void>): Promise<Result<PairingSnapshot>> {
    const record = await this.#record();
    if (!record) return fail(notFound());
    const result = pairingTransition(record, event);
    if (result.ok && beforeCommit) await beforeCommit(result.record, result.changed);
    if (result.changed) {
      await this.ctx.storage.put(KEY.pairing, result.record);
      if (isPairingTerminal(result.record.state)) {
        await this.ctx.storage.put(KEY.retainUntil, event.at + PAIRING_RETENTION_MS);
        await this.ctx.storage.setAlarm(event.at + PAIRING_RETENTION_MS);
      }
      broadcast(this.ctx.getWebSockets(), await this.#snapshot(result.record));
    }
    if (!result.ok) {
      const refusal = {
        expired: pairingProblem.expired,
        ended: pairingProblem.ended,
        claimed: pairingProblem.claimed,
        'not-claimed': pairingProblem.notClaimed,
      }[result.refusal];
      return fail(refusal());
    }
    return { ok: true, value: await this.#snapshot(result.record) };
  }

  async #snapshot(record: PairingRecord): Promise<PairingSnapshot> {
    const snapshot: PairingSnapshot = { type: 'snapshot', id: this.#id, state: record.state, expiresAt: record.expiresAt, now: Date.now() };
    if (record.state === 'pending') {
      const secret = await this.ctx.storage.get<string>(KEY.secret);
      if (secret) snapshot.pairingUrl = buildPairingUrl(this.env.ISSUER, this.#id, secret);
    }
    if (record.state === 'claimed' || record.state === 'completed') {
      const claim = await this.ctx.storage.get<Claim>(KEY.claim);
      if (claim) {
        snapshot.device = { name: claim.name, requester: claim.requester };
        if (record.state === 'claimed') snapshot.nonce = claim.nonce;
        else snapshot.deviceId = claim.deviceId;
      }
    }
    return snapshot;
  }
}
