/**
 * The reference mobile key's protocol core: enrolment, reading a login from its QR, the signed
 * answer, and revoking its own key (docs/mobile-protocol.md). WebCrypto and `fetch` only — no
 * Node API — so the same code runs in the CLI, in workerd tests and in any JavaScript app.
 * Signing uses the shared src/mobile/protocol.ts, so the client signs exactly the bytes the
 * server verifies.
 */
import { parseLoginUrl, PROTOCOL_VERSION, revocationMessage, signDeviceMessage, signedMessage, type ConsentChoice, type SignedAction } from '../../src/mobile/protocol.ts';
import type { AnswerResponse, RevokeResponse, ScanResponse } from '../../src/mobile/wire.ts';

/** What the key CLI keeps in its store file (JSON, mode 0600). */
export interface KeyStore {
  version: 1;
  /** The origin the device was enrolled with. */
  server: string;
  device_id: string;
  sub: string;
  name: string;
  /** The device's P-256 private key (JWK with `d`): never leaves the store. */
  private_jwk: JsonWebKey;
  public_jwk: JsonWebKey;
  /** Epoch milliseconds. */
  enrolled_at: number;
}

/** What a scan returns: the context to show the person (snake_case as on the wire). */
export type LoginContext = ScanResponse;
export type { AnswerResponse, RevokeResponse };

/** A refusal from the server (its problem `type` code, status and detail) or a usage error. */
export class MobileKeyError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  /** The server's clock (epoch milliseconds) when the problem carries one (`timestamp-out-of-window`). */
  readonly serverNow: number | undefined;
  constructor(code: string, message: string, status?: number, serverNow?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.serverNow = serverNow;
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A fresh, extractable P-256 key pair as JWKs (public members only in `publicJwk`). */
export async function generateDeviceKey(): Promise<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey }> {
  const pair = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { privateJwk, publicJwk: { kty, crv, x, y } };
}

/**
 * Enrols a fresh device key with an activation code (`POST /api/mobile/enrol`).
 * @returns the store to save (it holds the private key).
 * @throws {MobileKeyError} with the server's problem code (e.g. `invalid-activation-code`).
 */
export async function enrol(options: { server: string; activationCode: string; name: string; fetch?: Fetch }): Promise<KeyStore> {
  const { privateJwk, publicJwk } = await generateDeviceKey();
  const body = await postJson<{ device_id: string; sub: string }>(options.fetch, `${options.server}/api/mobile/enrol`, {
    activation_code: options.activationCode,
    public_jwk: publicJwk,
    name: options.name,
  });
  return {
    version: 1,
    server: options.server,
    device_id: body.device_id,
    sub: body.sub,
    name: options.name,
    private_jwk: privateJwk,
    public_jwk: publicJwk,
    enrolled_at: Date.now(),
  };
}

/**
 * Reads (and claims) a login from what its QR (or its same-device launch link) encodes: signs
 * the v2 scan message and sends it with the QR's frame. A frame is accepted for a few seconds
 * only (docs/mobile-protocol.md §2): scan it and send it at once.
 * @param options.server the API origin; the login URL's origin when omitted.
 * @throws {MobileKeyError} `invalid-login-url` for text that is not a login URL, or the server's problem.
 */
export async function scanLogin(options: { loginUrl: string; store: KeyStore; server?: string; fetch?: Fetch }): Promise<{
  context: LoginContext;
  server: string;
  loginId: string;
}> {
  const parsed = parseLoginUrl(options.loginUrl.trim());
  if (!parsed) throw new MobileKeyError('invalid-login-url', 'This is not a login URL (expected <origin>/key/login#<login id>.<frame>).');
  // A key answers only logins of the service it is enrolled with: a QR naming another origin could
  // be a relay that forwards the signatures and rewrites who asks, so it is refused before
  // anything is signed or sent (and v2 signatures name this server's origin anyway).
  const server = stripSlash(options.server ?? options.store.server);
  if (parsed.origin !== new URL(server).origin) {
    throw new MobileKeyError(
      'other-server',
      `This login belongs to ${parsed.origin}, but this key is enrolled with ${server}. A mobile key only answers logins of its own service.`,
    );
  }
  const signature = await sign(options.store, server, 'scan', parsed.loginId);
  const context = await postJson<LoginContext>(options.fetch, `${server}/api/mobile/logins/${parsed.loginId}/scan`, {
    version: PROTOCOL_VERSION,
    frame: parsed.frame,
    device_id: options.store.device_id,
    signature,
  });
  return { context, server, loginId: parsed.loginId };
}

/**
 * Sends a signed decision for a scanned login (`POST /api/mobile/logins/:id/answer`).
 * @param options.number number matching: the number picked from the scan's `number_choices`.
 *   It and `consent` (approvals only) are signed with the decision (docs/mobile-protocol.md §5).
 * @throws {MobileKeyError} with the server's problem code.
 */
export async function answerLogin(options: {
  server: string;
  loginId: string;
  nonce: string;
  decision: 'approve' | 'deny';
  store: KeyStore;
  number?: number;
  /** With an approval: the consent to what is released, this login only or always for the service. */
  consent?: 'once' | 'always';
  fetch?: Fetch;
}): Promise<AnswerResponse> {
  // What is sent beside the decision is signed with it, exactly as sent.
  const extra = {
    ...(options.number !== undefined ? { number: options.number } : {}),
    ...(options.decision === 'approve' && options.consent ? { consent: options.consent } : {}),
  };
  const signature = await sign(options.store, options.server, options.decision, options.loginId, options.nonce, extra);
  return postJson<AnswerResponse>(options.fetch, `${options.server}/api/mobile/logins/${options.loginId}/answer`, {
    version: PROTOCOL_VERSION,
    device_id: options.store.device_id,
    decision: options.decision,
    nonce: options.nonce,
    signature,
    ...extra,
  });
}

/**
 * The whole `approve` / `deny` flow: scan, show the context (via `confirm`), sign and answer.
 * For `approve`, `confirm` decides: false sends a signed **deny** (the person refused), so the
 * login page learns the outcome at once. Without `confirm` the decision is sent as given.
 * When the service requires number matching (the scan has `number_choices`), an approval also
 * needs `pickNumber`: it returns the number the person picked, or null to deny.
 * @throws {MobileKeyError} `number-required` when approving a login with number matching without `pickNumber`.
 * @returns the server's answer plus the context that was shown.
 * @throws {MobileKeyError}
 */
export async function decideLogin(options: {
  loginUrl: string;
  store: KeyStore;
  decision: 'approve' | 'deny';
  consent?: 'once' | 'always';
  server?: string;
  confirm?: (context: LoginContext) => Promise<boolean>;
  pickNumber?: (context: LoginContext, choices: number[]) => Promise<number | null>;
  fetch?: Fetch;
}): Promise<AnswerResponse & { login_id: string; device_id: string; context: LoginContext }> {
  const { context, server, loginId } = await scanLogin(options);
  let decision = options.decision;
  if (decision === 'approve' && options.confirm && !(await options.confirm(context))) decision = 'deny';
  const send = (answer: 'approve' | 'deny', number?: number) =>
    answerLogin({
      server,
      loginId,
      nonce: context.nonce,
      decision: answer,
      store: options.store,
      ...(number !== undefined ? { number } : {}),
      ...(options.consent ? { consent: options.consent } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  let number: number | undefined;
  const choices = context.number_choices;
  if (decision === 'approve' && Array.isArray(choices) && choices.length > 0) {
    // Scanned, so the login is claimed by this key: when no number can be had, deny it rather
    // than leave it hanging, then say why.
    const picked = await (options.pickNumber
      ? options.pickNumber(context, choices)
      : Promise.reject(new MobileKeyError('number-required', 'This service requires number matching: pick the number the login page shows. The login was denied.'))
    ).catch(async (error: unknown) => {
      await send('deny');
      throw error;
    });
    if (picked === null) decision = 'deny';
    else number = picked;
  }
  const answer = await send(decision, number);
  return { ...answer, login_id: loginId, device_id: options.store.device_id, context };
}

/**
 * Revokes the store's own key on the server (`POST /api/mobile/devices/:id/revoke`), signing
 * the revocation message with the current time. If the server refuses the time
 * (`timestamp-out-of-window`, the device's clock is off), it signs once more with the server's
 * clock from the problem. Idempotent: a key revoked before answers its first `revoked_at`.
 * Deleting the private key afterwards is the caller's job.
 * @param options.server the API origin (normally `store.server`).
 * @param options.clock the device's clock in epoch milliseconds (default `Date.now`).
 * @returns `{device_id, revoked_at}` (epoch milliseconds).
 * @throws {MobileKeyError} with the server's problem code (`unknown-device`, `invalid-signature`, …) or `unreachable`.
 */
export async function revokeOwnDevice(options: { server: string; store: KeyStore; fetch?: Fetch; clock?: () => number }): Promise<RevokeResponse> {
  const clock = options.clock ?? Date.now;
  const url = `${stripSlash(options.server)}/api/mobile/devices/${encodeURIComponent(options.store.device_id)}/revoke`;
  const send = async (timestamp: number) => {
    const key = await privateKey(options.store);
    const origin = new URL(options.server).origin;
    const signature = await signDeviceMessage(key, revocationMessage({ origin, deviceId: options.store.device_id, timestamp }));
    return postJson<RevokeResponse>(options.fetch, url, { version: PROTOCOL_VERSION, timestamp, signature });
  };
  const started = clock();
  try {
    return await send(started);
  } catch (error) {
    if (!(error instanceof MobileKeyError && error.code === 'timestamp-out-of-window' && error.serverNow)) throw error;
    return send(error.serverNow + Math.max(0, clock() - started));
  }
}

/**
 * Signs a v2 protocol message for the server at `server` with the store's private key.
 * @param answer an answer's `number` and `consent`, exactly as its body carries them.
 */
async function sign(
  store: KeyStore,
  server: string,
  action: SignedAction,
  loginId: string,
  nonce?: string,
  answer: { number?: number; consent?: ConsentChoice } = {},
): Promise<string> {
  const key = await privateKey(store);
  const origin = new URL(server).origin;
  return signDeviceMessage(key, signedMessage({ origin, action, loginId, deviceId: store.device_id, ...(nonce ? { nonce } : {}), ...answer }));
}

/** The store's private key as a non-extractable signing key. */
export function privateKey(store: KeyStore): Promise<CryptoKey> {
  const { kty, crv, x, y, d } = store.private_jwk;
  return crypto.subtle.importKey('jwk', { kty, crv, x, y, d, ext: false }, ECDSA_P256, false, ['sign']);
}

/** POSTs JSON and reads the JSON answer. @throws {MobileKeyError} the server's problem, `unreachable` or `bad-response`. */
export function postJson<T>(fetchImpl: Fetch | undefined, url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  return requestJson<T>(fetchImpl, url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/**
 * Sends a request and reads the JSON answer; `init.headers` is a plain object.
 * @returns the body, and the response's `Set-Cookie` headers through `onResponse`.
 * @throws {MobileKeyError} the server's problem, `unreachable` or `bad-response`.
 */
export async function requestJson<T>(
  fetchImpl: Fetch | undefined,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
  onResponse?: (res: Response) => void,
): Promise<T> {
  const doFetch: Fetch = fetchImpl ?? ((input, i) => fetch(input, i));
  let res: Response;
  try {
    res = await doFetch(url, { ...init, headers: { Accept: 'application/json', ...init.headers } });
    onResponse?.(res);
  } catch (error) {
    throw new MobileKeyError('unreachable', `Cannot reach ${new URL(url).origin}: ${(error as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MobileKeyError('bad-response', `Unexpected response from the server (HTTP ${res.status}).`, res.status);
  }
  if (!res.ok) {
    const problem = json as { type?: string; title?: string; detail?: string; now?: unknown };
    const code = problem.type?.replace('urn:mobile-key:problem:', '') ?? 'error';
    const serverNow = typeof problem.now === 'number' && Number.isSafeInteger(problem.now) ? problem.now : undefined;
    throw new MobileKeyError(code, problem.detail ?? problem.title ?? `HTTP ${res.status}`, res.status, serverNow);
  }
  return json as T;
}

/** The origin without trailing slashes. */
export function stripSlash(origin: string): string {
  return origin.replace(/\/+$/, '');
}
