/**
 * The peer's complete login, scripted as a browser would do it: authorization request →
 * login form → consent form → redirect with code → token → UserInfo.
 */
import { spawn } from 'node:child_process';
import { CookieJar, randomString, s256 } from './lib/http.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const REDIRECT_URI = 'http://localhost/bench/callback';

export interface Peer {
  url: string;
  pgid: number;
  stop(): Promise<void>;
}

/** Starts node-oidc-provider (bench/peer-server.ts) in its own process group on `port`. */
export async function startPeer(port: number): Promise<Peer> {
  const child = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bench/peer-server.ts`, String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
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

function location(response: Response, base: string): string {
  const value = response.headers.get('Location');
  if (!value || response.status < 300 || response.status >= 400) {
    throw new Error(`expected a redirect, got ${response.status}`);
  }
  return new URL(value, base).toString();
}

/** Follows redirects within the provider until one leaves it (returns that URL). */
async function follow(jar: CookieJar, url: string, base: string): Promise<{ url: string; response: Response }> {
  for (let hops = 0; hops < 10; hops++) {
    if (!url.startsWith(base)) return { url, response: new Response(null) };
    const response = await jar.fetch(url);
    if (response.status === 200) return { url, response };
    await response.body?.cancel();
    url = location(response, url);
  }
  throw new Error('too many redirects');
}

/** One complete login with the peer; resolves to the UserInfo claims. */
export async function peerLogin(peer: Peer, username: string): Promise<Record<string, unknown>> {
  const jar = new CookieJar();
  const verifier = randomString();
  const state = randomString(16);
  const auth = new URL(`${peer.url}/auth`);
  auth.search = new URLSearchParams({
    client_id: 'bench',
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: REDIRECT_URI,
    state,
    nonce: randomString(16),
    code_challenge: await s256(verifier),
    code_challenge_method: 'S256',
  }).toString();

  // Login form.
  let step = await follow(jar, auth.toString(), peer.url);
  await step.response.text();
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
  await step.response.text();
  // Consent form.
  step = await submit({ prompt: 'consent' });
  const callback = new URL(step.url);
  if (!callback.toString().startsWith(REDIRECT_URI) || callback.searchParams.get('state') !== state) {
    throw new Error(`unexpected callback ${step.url}`);
  }
  const code = callback.searchParams.get('code')!;
  const token = await fetch(`${peer.url}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: 'bench',
      code_verifier: verifier,
    }),
  });
  const tokens = (await token.json()) as { access_token: string; id_token: string };
  if (!tokens.access_token) throw new Error(`token endpoint: ${JSON.stringify(tokens)}`);
  const me = await fetch(`${peer.url}/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  return (await me.json()) as Record<string, unknown>;
}
