/**
 * The reference mobile key's protocol core: enrolment, reading a login from its QR, the signed
 * answer, and revoking its own key (docs/mobile-protocol.md). WebCrypto and `fetch` only — no
 * Node API — so the same code runs in the CLI, in workerd tests and in any JavaScript app.
 * Signing uses the shared src/mobile/protocol.ts, so the client signs exactly the bytes the
 * server verifies.
 */
import { parseLoginUrl, revocationMessage, signDeviceMessage, signedMessage, type SignedAction } from '../../src/mobile/protocol.ts';
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
 * Reads (and claims) a login from what its QR encodes: signs the scan message and sends it.
 * @param options.server the API origin; the login URL's origin when omitted.
 * @throws {MobileKeyError} `invalid-login-url` for text that is not a login URL, or the server's problem.
 */
export async function scanLogin(options: { loginUrl: string; store: KeyStore; server?: string; fetch?: Fetch }): Promise<{
  context: LoginContext;
  server: string;
  loginId: string;
  secret: string;
}> {
  const parsed = parseLoginUrl(options.loginUrl.trim());
  if (!parsed) throw new MobileKeyError('invalid-login-url', 'This is not a login URL (expected <origin>/key/login#<login id>.<secret>).');
  // A key answers only logins of the service it is enrolled with: a QR naming another origin could
  // be a relay that forwards the signatures and rewrites who asks (the signed bytes do not name
  // the server), so it is refused before anything is signed or sent.
  const server = stripSlash(options.server ?? options.store.server);
  if (parsed.origin !== new URL(server).origin) {
    throw new MobileKeyError(
      'other-server',
      `This login belongs to ${parsed.origin}, but this key is enrolled with ${server}. A mobile key only answers logins of its own service.`,
    );
  }
  const signature = await sign(options.store, 'scan', parsed.loginId);
  const context = await postJson<LoginContext>(options.fetch, `${server}/api/mobile/logins/${parsed.loginId}/scan`, {
    secret: parsed.secret,
    device_id: options.store.device_id,
    signature,
  });
  return { context, server, loginId: parsed.loginId, secret: parsed.secret };
}

/**
 * Sends a signed decision for a scanned login (`POST /api/mobile/logins/:id/answer`).
 * @throws {MobileKeyError} with the server's problem code.
 */
export async function answerLogin(options: {
  server: string;
  loginId: string;
  secret: string;
  nonce: string;
  decision: 'approve' | 'deny';
  store: KeyStore;
  /** With an approval: the consent to what is released, this login only or always for the service. */
  consent?: 'once' | 'always';
  fetch?: Fetch;
}): Promise<AnswerResponse> {
  const signature = await sign(options.store, options.decision, options.loginId, options.nonce);
  return postJson<AnswerResponse>(options.fetch, `${options.server}/api/mobile/logins/${options.loginId}/answer`, {
    secret: options.secret,
    device_id: options.store.device_id,
    decision: options.decision,
    nonce: options.nonce,
    signature,
    ...(options.decision === 'approve' && options.consent ? { consent: options.consent } : {}),
  });
}

/**
 * The whole `approve` / `deny` flow: scan, show the context (via `confirm`), sign and answer.
 * For `approve`, `confirm` decides: false sends a signed **deny** (the person refused), so the
 * login page learns the outcome at once. Without `confirm` the decision is sent as given.
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
  fetch?: Fetch;
}): Promise<AnswerResponse & { login_id: string; device_id: string; context: LoginContext }> {
  const { context, server, loginId, secret } = await scanLogin(options);
  let decision = options.decision;
  if (decision === 'approve' && options.confirm && !(await options.confirm(context))) decision = 'deny';
  const answer = await answerLogin({ server, loginId, secret, nonce: context.nonce, decision, store: options.store, ...(options.consent ? { consent: options.consent } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) });
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
    const signature = await signDeviceMessage(key, revocationMessage({ deviceId: options.store.device_id, timestamp }));
    return postJson<RevokeResponse>(options.fetch, url, { timestamp, signature });
  };
  const started = clock();
  try {
    return await send(started);
  } catch (error) {
    if (!(error instanceof MobileKeyError && error.code === 'timestamp-out-of-window' && error.serverNow)) throw error;
    return send(error.serverNow + Math.max(0, clock() - started));
  }
}

/** Signs a protocol message with the store's private key. */
async function sign(store: KeyStore, action: SignedAction, loginId: string, nonce?: string): Promise<string> {
  const key = await privateKey(store);
  return signDeviceMessage(key, signedMessage({ action, loginId, deviceId: store.device_id, ...(nonce ? { nonce } : {}) }));
}

function privateKey(store: KeyStore): Promise<CryptoKey> {
  const { kty, crv, x, y, d } = store.private_jwk;
  return crypto.subtle.importKey('jwk', { kty, crv, x, y, d, ext: false }, ECDSA_P256, false, ['sign']);
}

async function postJson<T>(fetchImpl: Fetch | undefined, url: string, body: unknown): Promise<T> {
  const doFetch: Fetch = fetchImpl ?? ((input, init) => fetch(input, init));
  let res: Response;
  try {
    res = await doFetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
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

function stripSlash(origin: string): string {
  return origin.replace(/\/+$/, '');
}
