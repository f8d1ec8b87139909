/**
 * A complete login over HTTP, as a browser and a phone perform it against a running server
 * (`wrangler dev` from test/e2e/server.ts, or any deployment): shared by the load and restart
 * tests, the browser tests and `npm run bench`. Independent of vitest: every check throws a
 * plain {@link FlowError}, and every wait is bounded by a timeout in milliseconds.
 *
 * The steps, each exported on its own so a caller can run them in phases (e.g. 300 pages open
 * at once, then 300 approvals):
 *
 * 1. {@link registerRp}: a public client (PKCE) registered through the operator API, with
 *    openid-client as the relying service.
 * 2. {@link enrolPhone}: an identity created through the operator API and a fresh P-256 device
 *    key enrolled with its activation code (cli/lib/mobile-client.ts, as the key CLI does).
 * 3. {@link startLogin}: `/authorize` with PKCE, state and nonce → 303 to `/login/<id>` with the
 *    binding cookie → the hosted page, with the snapshot it embeds (the QR's loginUrl) — as a
 *    browser, which then opens the socket and asks for no `/login/<id>/state`.
 * 4. {@link openPage}: the page's WebSocket (binding cookie, same Origin as a browser sends).
 * 5. {@link approveOnPhone}: the phone scans the QR's URL and sends its signed decision.
 * 6. {@link continueToRp}: `/login/<id>/continue` → 303 to the redirect_uri with the code.
 * 7. {@link redeem}: the code for tokens (ID token validated by openid-client, nonce included),
 *    then UserInfo with the access token.
 *
 * {@link runLogin} runs them all for one login and returns per-step timings.
 * Times are milliseconds from `performance.now()` unless a name says otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { answerLogin, enrol, scanLogin, type AnswerResponse, type KeyStore, type LoginContext } from '../../cli/lib/mobile-client.ts';
import { parseLoginUrl } from '../../src/mobile/protocol.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
import { NAVIGATION_HEADERS } from '../navigation.ts';

/** A check in the flow failed (what a test would report), or a wait timed out. */
export class FlowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FlowError(message);
}

/** Where the flow runs: the server's origin (also its issuer) and its operator token. */
export interface FlowServer {
  /** e.g. `http://localhost:8788`, no trailing slash. */
  url: string;
  /** The operator API's bearer token (`ADMIN_TOKEN`). */
  adminToken: string;
}

/** A relying service: a registered public client and openid-client's configuration for it. */
export interface RpClient {
  clientId: string;
  /** Registered redirect_uri; nothing listens there, the flow reads the 303's Location. */
  redirectUri: string;
  name: string;
  config: oidc.Configuration;
}

/** Calls the operator API. @throws {FlowError} on any non-2xx answer, with its problem. */
async function admin<T>(server: FlowServer, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  check(res.ok, `${method} ${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Registers a public client (PKCE S256, ID tokens RS256) through `POST /admin/clients` and
 * discovers the provider with openid-client (http allowed: loopback).
 * @param options.redirectUri defaults to `http://127.0.0.1:9/cb` (the discard port: never opened).
 */
export async function registerRp(
  server: FlowServer,
  options: { name?: string; redirectUri?: string } = {},
): Promise<RpClient> {
  const name = options.name ?? 'Load Test Service';
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:9/cb';
  const created = await admin<{ client_id: string }>(server, 'POST', '/admin/clients', {
    name,
    redirect_uris: [redirectUri],
    public: true,
  });
  const config = await oidc.discovery(new URL(server.url), created.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  return { clientId: created.client_id, redirectUri, name, config };
}

/**
 * Creates an identity (`POST /admin/identities`) and enrols a fresh device key with its
 * activation code (`POST /api/mobile/enrol`).
 * @returns the key store (private key included) of the enrolled phone; `sub` names the identity.
 */
export async function enrolPhone(
  server: FlowServer,
  options: { givenName?: string; familyName?: string; deviceName?: string } = {},
): Promise<KeyStore> {
  const identity = await admin<{ sub: string; activation_code: string }>(server, 'POST', '/admin/identities', {
    given_name: options.givenName ?? 'Jana',
    family_name: options.familyName ?? 'Nováková',
  });
  const store = await enrol({ server: server.url, activationCode: identity.activation_code, name: options.deviceName ?? 'Test phone' });
  check(store.sub === identity.sub, `enrolled to ${store.sub}, expected ${identity.sub}`);
  return store;
}

/** A login started by an authorization request, as the browser holds it. */
export interface StartedLogin {
  /** 64 lowercase hex. */
  loginId: string;
  /** `name=value` of the binding cookie, ready for a `Cookie` header. */
  cookie: string;
  /**
   * The page's same-device launch link, `<issuer>/key/login#<login id>.l.<token>` (single use,
   * valid while pending): a simulated phone may take its time, unlike with the QR's frames,
   * which last seconds (src/session/rotation.ts).
   */
  loginUrl: string;
  /** The snapshot the hosted page embeds in `#login-state` (state `pending`). */
  snapshot: LoginSnapshot;
  /** The RP's PKCE verifier, state and nonce for this request. */
  codeVerifier: string;
  state: string;
  nonce: string;
  /** HTTP status of the hosted page `GET /login/<id>`, or null when this build has no page route. */
  pageStatus: number | null;
}

let browsers = 0;
/**
 * A fresh client address for a simulated browser, from 198.18.0.0/15 (RFC 2544, for benchmarks):
 * only ever a header value, nothing is sent there.
 */
function nextBrowserAddress(): string {
  const n = browsers++ % (2 * 65536);
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * The browser's start: an authorization request with PKCE (`GET /authorize`, navigated to as a
 * browser does), answered with the hosted page and the binding cookie (an older build: a 303 to
 * the page, then the page), and the snapshot the page embeds.
 * @param options.scope defaults to `openid profile`.
 * @param options.address the browser's `CF-Connecting-IP`; by default a new one per call.
 * @throws {FlowError} unless the request is accepted and the snapshot is `pending` with a loginUrl.
 */
export async function startLogin(
  server: Pick<FlowServer, 'url'>,
  rp: RpClient,
  options: { scope?: string; uiLocales?: string; address?: string } = {},
): Promise<StartedLogin> {
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: options.scope ?? 'openid profile',
    state,
    nonce,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(options.uiLocales ? { ui_locales: options.uiLocales } : {}),
  });
  // Each call is a new browser, with an address of its own: `/authorize` is rate limited per
  // address (docs/security.md), and wrangler dev keeps a CF-Connecting-IP the caller sends. It
  // navigates as a browser does, so `/authorize` answers with the page itself (Content-Location
  // names its address); a build from before that answers with a 303 to it.
  const authorized = await fetch(url, { redirect: 'manual', headers: { ...NAVIGATION_HEADERS, 'CF-Connecting-IP': options.address ?? nextBrowserAddress() } });
  const location = authorized.headers.get('Location') ?? authorized.headers.get('Content-Location') ?? '';
  const loginId = /^\/login\/([0-9a-f]{64})$/.exec(location)?.[1];
  const servedPage = authorized.status === 200 && authorized.headers.has('Content-Location');
  check((servedPage || authorized.status === 303) && loginId, `/authorize → ${authorized.status} ${location}`);
  const cookie = authorized.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('__Host-mk_login_'));
  check(cookie, '/authorize set no binding cookie');

  let pageStatus: number | null;
  let pageBody: string;
  if (servedPage) {
    pageBody = await authorized.text();
    pageStatus = 200;
  } else {
    await authorized.arrayBuffer();
    const page = await fetch(`${server.url}${location}`, { headers: { ...NAVIGATION_HEADERS, Cookie: cookie } });
    pageBody = await page.text();
    // Until the hosted page (issue 5) is on a build, `/login/<id>` is the router's own 404.
    pageStatus = page.status === 404 && pageBody.includes('No such endpoint.') ? null : page.status;
    check(pageStatus === null || pageStatus === 200, `GET ${location} → ${page.status}`);
  }

  // The page embeds its snapshot (src/login/pages.tsx), so a browser asks for no `/state` after
  // load; only a build without the page is read through `/state`.
  let snapshot: LoginSnapshot;
  if (pageStatus === null) {
    const res = await fetch(`${server.url}/login/${loginId}/state`, { headers: { Cookie: cookie } });
    snapshot = (await res.json()) as LoginSnapshot;
    check(res.status === 200, `state → ${res.status} ${JSON.stringify(snapshot)}`);
  } else {
    const embedded = /<script type="application\/json" id="login-state">([\s\S]*?)<\/script>/.exec(pageBody)?.[1];
    check(embedded, `GET ${location} embeds no #login-state`);
    snapshot = (JSON.parse(embedded) as { snapshot: LoginSnapshot }).snapshot;
  }
  check(snapshot.state === 'pending' && snapshot.loginUrl && snapshot.launchUrl, `the page's snapshot: ${JSON.stringify(snapshot)}`);
  check(snapshot.id === loginId && parseLoginUrl(snapshot.launchUrl)?.loginId === loginId, 'the snapshot names another login');
  return { loginId, cookie, loginUrl: snapshot.launchUrl, snapshot, codeVerifier, state, nonce, pageStatus };
}

/** A message from the page's WebSocket: a snapshot, a problem, or the runtime's pong. */
export type PageMessage = (LoginSnapshot & { type: 'snapshot' }) | { type: string; [key: string]: unknown };

/** The hosted page's WebSocket, with every message it received kept in order. */
export interface PageSocket {
  /** Every message received so far, in order (never cleared). */
  readonly messages: PageMessage[];
  /** `performance.now()` when each of {@link messages} arrived (same index). */
  readonly receivedAt: number[];
  /** The snapshots among {@link messages}. */
  snapshots(): LoginSnapshot[];
  /**
   * Resolves with the first message (received before or after the call) at index ≥ `from`
   * that matches; rejects after `timeoutMs` (default 10 000 ms) or when the socket closes first.
   */
  waitFor(match: (message: PageMessage) => boolean, options?: { timeoutMs?: number; from?: number }): Promise<PageMessage>;
  /** Waits for a snapshot in one of these states (default timeout 10 000 ms). */
  waitForState(states: string | string[], timeoutMs?: number): Promise<LoginSnapshot>;
  /**
   * A barrier: sends `{"type":"ping"}` and waits for the runtime's `pong`. Everything the object
   * had sent before the runtime answered the ping has then been received (one ordered socket).
   * The runtime answers pings without waking the object, so a reply to a message sent just
   * before may still be on its way.
   */
  flush(timeoutMs?: number): Promise<void>;
  send(text: string | ArrayBuffer): void;
  /** Closes the socket (1000) and waits until it is closed (at most 5 000 ms). */
  close(): Promise<void>;
  /** Resolves once the socket is closed, with its close code. */
  readonly closed: Promise<number>;
}

/**
 * Opens the page's WebSocket (`GET /login/<id>/ws`) as the hosted page does: with the binding
 * cookie and the page's Origin.
 * @param timeoutMs how long the handshake and the first snapshot may take (default 10 000 ms).
 * @throws {FlowError} when refused or when no first snapshot arrives in time.
 */
export async function openPage(
  server: Pick<FlowServer, 'url'>,
  loginId: string,
  cookie: string,
  timeoutMs = 10_000,
): Promise<PageSocket> {
  const wsUrl = `${server.url.replace(/^http/, 'ws')}/login/${loginId}/ws`;
  // Node's WebSocket (undici) takes request headers as an extension of the constructor's options.
  const ws = new WebSocket(wsUrl, { headers: { Cookie: cookie, Origin: new URL(server.url).origin } } as unknown as string[]);
  const messages: PageMessage[] = [];
  const receivedAt: number[] = [];
  const listeners = new Set<() => void>();
  let isClosed = false;
  const closed = new Promise<number>((resolve) => {
    ws.addEventListener('close', (event) => {
      isClosed = true;
      resolve(event.code);
      for (const listener of listeners) listener();
    });
  });
  ws.addEventListener('message', (event) => {
    receivedAt.push(performance.now());
    messages.push(JSON.parse(String(event.data)) as PageMessage);
    for (const listener of listeners) listener();
  });
  ws.addEventListener('error', () => {
    // the close event follows and ends every wait
  });

  const waitFor: PageSocket['waitFor'] = (match, options = {}) =>
    new Promise((resolve, reject) => {
      const limit = options.timeoutMs ?? 10_000;
      let index = options.from ?? 0;
      const timer = setTimeout(() => done(new FlowError(`login ${loginId.slice(0, 8)}: no matching WebSocket message within ${limit} ms`)), limit);
      const done = (result: PageMessage | Error) => {
        clearTimeout(timer);
        listeners.delete(look);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      function look() {
        for (; index < messages.length; index++) {
          if (match(messages[index]!)) return done(messages[index]!);
        }
        if (isClosed) done(new FlowError(`login ${loginId.slice(0, 8)}: WebSocket closed before a matching message`));
      }
      listeners.add(look);
      look();
    });

  const socket: PageSocket = {
    messages,
    receivedAt,
    snapshots: () => messages.filter((m): m is LoginSnapshot => m.type === 'snapshot'),
    waitFor,
    waitForState: async (states, timeout = 10_000) => {
      const wanted = Array.isArray(states) ? states : [states];
      return (await waitFor((m) => m.type === 'snapshot' && wanted.includes(String(m.state)), { timeoutMs: timeout })) as LoginSnapshot;
    },
    flush: async (timeout = 10_000) => {
      const from = messages.length;
      ws.send('{"type":"ping"}');
      await waitFor((m) => m.type === 'pong', { timeoutMs: timeout, from });
    },
    send: (text) => ws.send(text),
    close: async () => {
      if (!isClosed) ws.close(1000, 'done');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
    closed,
  };
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => ws.addEventListener('open', () => resolve(true))),
    closed.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
  ]);
  if (!opened) {
    ws.close();
    throw new FlowError(`WebSocket for login ${loginId.slice(0, 8)} refused or not opened within ${timeoutMs} ms`);
  }
  await waitFor((m) => m.type === 'snapshot', { timeoutMs });
  return socket;
}

/** What the phone did, with the moment its decision was sent. */
export interface PhoneResult extends AnswerResponse {
  /** What the phone showed after the scan. */
  context: LoginContext;
  /** `performance.now()` right before the answer request was sent (after signing). */
  answerSentAt: number;
  /** `performance.now()` when the answer's response arrived. */
  answeredAt: number;
}

/**
 * The phone's part: scan the QR's URL (`POST /api/mobile/logins/:id/scan`) and send the signed
 * decision (`POST /api/mobile/logins/:id/answer`) with the enrolled key.
 * @throws {MobileKeyError} (from cli/lib/mobile-client.ts) with the server's problem code when refused.
 */
export async function approveOnPhone(
  key: KeyStore,
  loginUrl: string,
  options: { server?: string; decision?: 'approve' | 'deny' } = {},
): Promise<PhoneResult> {
  const scanned = await scanLogin({ loginUrl, store: key, ...(options.server ? { server: options.server } : {}) });
  const answerSentAt = performance.now();
  const answer = await answerLogin({
    server: scanned.server,
    loginId: scanned.loginId,
    nonce: scanned.context.nonce,
    decision: options.decision ?? 'approve',
    store: key,
  });
  return { ...answer, context: scanned.context, answerSentAt, answeredAt: performance.now() };
}

/**
 * The browser follows the page to `GET /login/<id>/continue` once approved.
 * @returns the callback URL at the relying service (with `code`, `state` and `iss`).
 * @throws {FlowError} unless the answer is a 303 to the client's redirect_uri with a code.
 */
export async function continueToRp(server: Pick<FlowServer, 'url'>, rp: RpClient, login: StartedLogin): Promise<URL> {
  const res = await fetch(`${server.url}/login/${login.loginId}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
  await res.arrayBuffer();
  const location = res.headers.get('Location') ?? '';
  check(res.status === 303 && location.startsWith(`${rp.redirectUri}?`), `continue → ${res.status} ${location}`);
  const callback = new URL(location);
  check(callback.searchParams.get('code'), `continue returned no code: ${location}`);
  return callback;
}

/** What the relying service ends with. */
export interface Redeemed {
  code: string;
  accessToken: string;
  /** The validated ID token's claims. */
  idToken: oidc.IDToken;
  /** The UserInfo response (OIDC Core §5.3). */
  userinfo: oidc.UserInfoResponse;
}

/**
 * The relying service's part: validates the callback (state, iss), redeems the code with the
 * PKCE verifier at `/token` (openid-client validates the ID token: signature, iss, aud, exp,
 * nonce) and calls `/userinfo` with the access token, expecting the ID token's `sub`.
 * @throws {oidc.ResponseBodyError | oidc.AuthorizationResponseError | FlowError} when refused.
 */
export async function redeem(rp: RpClient, login: StartedLogin, callback: URL): Promise<Redeemed> {
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: login.codeVerifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  const idToken = tokens.claims();
  check(idToken, 'no ID token');
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, idToken.sub);
  return { code: callback.searchParams.get('code')!, accessToken: tokens.access_token, idToken, userinfo };
}

/** Per-step durations of one login, in milliseconds. */
export interface LoginTimings {
  /** `/authorize` and the page (with its embedded snapshot). */
  start: number;
  /** WebSocket handshake to the first snapshot. */
  socket: number;
  /** The phone's scan and answer, request to response. */
  phone: number;
  /** From the phone sending its answer to the page receiving the approved snapshot. */
  decisionToPage: number;
  /** `/continue`, `/token` and `/userinfo`. */
  finish: number;
  /** The whole login. */
  total: number;
}

/** Everything one complete login produced. */
export interface LoginRun extends Redeemed {
  login: StartedLogin;
  phone: PhoneResult;
  /** Every message the page's WebSocket received until the relying service had answered. */
  pageMessages: PageMessage[];
  timings: LoginTimings;
}

/**
 * Runs one complete login: start → page WebSocket → phone scan + approve → the page sees
 * `approved` → continue → token → UserInfo; the page's socket stays open until the relying
 * service has answered, as in a browser (the page is replaced only when that answer arrives).
 * @param options.timeoutMs bound of each wait for the page (default 10 000 ms).
 * @throws {FlowError} (or an openid-client / MobileKeyError) at the first step that fails.
 */
export async function runLogin(
  server: Pick<FlowServer, 'url'>,
  rp: RpClient,
  key: KeyStore,
  options: { timeoutMs?: number; scope?: string } = {},
): Promise<LoginRun> {
  const t0 = performance.now();
  const login = await startLogin(server, rp, options.scope ? { scope: options.scope } : {});
  const t1 = performance.now();
  const page = await openPage(server, login.loginId, login.cookie, options.timeoutMs);
  const t2 = performance.now();
  let phone: PhoneResult;
  let approvedAt: number;
  let t3: number;
  let redeemed: Redeemed;
  try {
    phone = await approveOnPhone(key, login.loginUrl);
    const approved = await page.waitForState('approved', options.timeoutMs);
    approvedAt = page.receivedAt[page.messages.indexOf(approved)]!;
    t3 = performance.now();
    redeemed = await redeem(rp, login, await continueToRp(server, rp, login));
  } finally {
    // A browser's page lives until the relying service's answer replaces it.
    await page.close();
  }
  const t4 = performance.now();
  return {
    ...redeemed,
    login,
    phone,
    pageMessages: [...page.messages],
    timings: {
      start: t1 - t0,
      socket: t2 - t1,
      phone: phone.answeredAt - t2,
      decisionToPage: approvedAt - phone.answerSentAt,
      finish: t4 - t3,
      total: t4 - t0,
    },
  };
}

/**
 * Runs `task` over `items` with at most `limit` tasks in flight.
 * @returns the results in the order of `items`; rejects with the first failure (after the
 *   tasks already started have settled).
 */
export async function inPool<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
