/**
 * The peer's complete login, scripted as a browser would do it: authorization request →
 * login form → consent form → redirect with code → token → UserInfo. The relying service side
 * uses openid-client exactly as our own flow does (test/e2e/flow.ts), so both pay the same
 * client-side cost (PKCE, ID token validation, UserInfo).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { CookieJar } from './lib/http.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const REDIRECT_URI = 'http://localhost/bench/callback';

export interface Peer extends PeerProcess {
  config: oidc.Configuration;
}

/** The peer's process: where it listens, its process group, and how to stop it. */
export interface PeerProcess {
  url: string;
  pgid: number;
  stop(): Promise<void>;
}

/**
 * Starts node-oidc-provider (bench/peer-server.ts) in its own process group on `port`, sending
 * it no request (so the caller's first request is its first). `options.store`: a SQLite file for
 * its state (bench/peer-store.ts, durable writes) instead of its in-memory adapter.
 * @returns once it prints "ready"; rejects after 30 s or if it exits first.
 */
export async function spawnPeer(port: number, options: { store?: string } = {}): Promise<PeerProcess> {
  const child = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bench/peer-server.ts`, String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production', NODE_NO_WARNINGS: '1', ...(options.store ? { PEER_STORE: options.store } : {}) },
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`peer exited:\n${output}`)));
  });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    url: `http://localhost:${port}`,
    pgid: child.pid!,
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      await exited;
    },
  };
}

/**
 * Starts the peer ({@link spawnPeer}) and discovers it with openid-client.
 * @returns the process with openid-client's configuration for the `bench` client.
 */
export async function startPeer(port: number, options: { store?: string } = {}): Promise<Peer> {
  const peer = await spawnPeer(port, options);
  const config = await oidc.discovery(new URL(peer.url), 'bench', undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  return { ...peer, config };
}

function location(response: Response, base: string): string {
  const value = response.headers.get('Location');
  if (!value || response.status < 300 || response.status >= 400) {
    throw new Error(`expected a redirect, got ${response.status}`);
  }
  return new URL(value, base).toString();
}

/** Follows redirects within the provider until a 200 page or a URL outside it. */
async function follow(jar: CookieJar, url: string, base: string): Promise<{ url: string; response: Response | null }> {
  for (let hops = 0; hops < 10; hops++) {
    if (!url.startsWith(base)) return { url, response: null };
    const response = await jar.fetch(url);
    if (response.status === 200) return { url, response };
    await response.body?.cancel();
    url = location(response, url);
  }
  throw new Error('too many redirects');
}

/** One complete login with the peer; resolves to the UserInfo claims. */
export async function peerLogin(peer: Peer, username: string): Promise<oidc.UserInfoResponse> {
  const jar = new CookieJar();
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const auth = oidc.buildAuthorizationUrl(peer.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    state,
    nonce,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  });

  let step = await follow(jar, auth.toString(), peer.url);
  await step.response?.text(); // the login form
  const submit = async (body: Record<string, string>) => {
    const res = await jar.fetch(step.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
    await res.body?.cancel();
    return follow(jar, location(res, step.url), peer.url);
  };
  step = await submit({ prompt: 'login', login: username, password: 'correct horse battery staple' });
  await step.response?.text(); // the consent form
  step = await submit({ prompt: 'consent' });
  const tokens = await oidc.authorizationCodeGrant(peer.config, new URL(step.url), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return oidc.fetchUserInfo(peer.config, tokens.access_token, tokens.claims()!.sub);
}
