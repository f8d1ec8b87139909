import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './cli-run.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

const cli = runCli;
type Run = CliRun;

describe('admin and key CLIs against wrangler dev', () => {
  let server: RunningServer;
  let admin: (args: string[]) => Promise<Run>;
  const dir = mkdtempSync(join(tmpdir(), 'mobile-key-cli-'));
  const store = join(dir, 'key.json');

  beforeAll(async () => {
    server = await sharedTestServer();
    admin = (args) => cli('admin', [...args, '--server', server.url], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates an identity, enrols the key CLI, lists and revokes the device', async () => {
    const created = await admin(['identity', 'create', '--given-name', 'Jana', '--family-name', 'Nováková', '--birthdate', '1990-04-01', '--email', 'jana@example.cz', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim().split('\n')).toHaveLength(1);
    expect(created.json).toMatchObject({ sub: expect.stringMatching(/^sub_[0-9a-f]{32}$/), activation_code: expect.stringMatching(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/) });
    expect(created.json.expires_at).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
    const sub = created.json.sub as string;

    // A wrong code is refused with a clear error and no store is written.
    const wrong = await cli('key', ['enroll', '--activation-code', 'AAAA-BBBB-CCCC-DDDD', '--server', server.url, '--store', store, '--json']);
    expect(wrong.code).toBe(1);
    expect(wrong.json).toMatchObject({ error: 'invalid-activation-code' });
    expect(wrong.stderr).toMatch(/activation code is not valid/);

    const enrolled = await cli('key', ['enroll', '--activation-code', String(created.json.activation_code).toLowerCase(), '--name', 'CLI key', '--server', server.url, '--store', store, '--json']);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.json).toEqual({ device_id: expect.stringMatching(/^dev_/), sub });
    expect(statSync(store).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(store, 'utf8')) as Record<string, { d?: string } | string>;
    expect(saved.device_id).toBe(enrolled.json.device_id);
    expect(typeof (saved.private_jwk as { d?: string }).d).toBe('string');

    // The code is spent; the existing store is not overwritten by accident.
    const reuse = await cli('key', ['enroll', '--activation-code', String(created.json.activation_code), '--server', server.url, '--store', join(dir, 'other.json'), '--json']);
    expect(reuse.json).toMatchObject({ error: 'activation-code-used' });
    const again = await cli('key', ['enroll', '--activation-code', 'AAAA-BBBB-CCCC-DDDD', '--server', server.url, '--store', store]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a mobile key/);

    const devices = await admin(['devices', sub, '--json']);
    // The key CLI's User-Agent names its OS (no browser): that is the platform the key lives in.
    const os = ({ linux: 'Linux', darwin: 'macOS', win32: 'Windows NT' } as Record<string, string>)[process.platform] ?? null;
    expect(devices.json).toMatchObject({ sub, devices: [{ device_id: enrolled.json.device_id, name: 'CLI key', browser: null, os, revoked_at: null }] });
    const text = await admin(['devices', sub]);
    expect(text.stdout).toContain('"CLI key"');
    expect(text.stdout).toContain(os ? JSON.stringify(os) : 'platform unknown');
    expect(text.stdout).toContain('active');

    const revoked = await admin(['device', 'revoke', String(enrolled.json.device_id), '--json']);
    expect(revoked.code).toBe(0);
    expect(revoked.json).toMatchObject({ device_id: enrolled.json.device_id, sub, revoked_at: expect.any(Number) });
    expect((await admin(['devices', sub, '--json'])).json).toMatchObject({ devices: [{ revoked_at: revoked.json.revoked_at }] });
  });

  it('issues a new activation code and registers clients', async () => {
    const created = await admin(['identity', 'create', '--given-name', 'Petr', '--family-name', 'Svoboda', '--json']);
    const issued = await admin(['identity', 'activation-code', String(created.json.sub), '--json']);
    expect(issued.code).toBe(0);
    expect(issued.json.activation_code).not.toBe(created.json.activation_code);
    // The activation link works as the code and names the server.
    const link = `${server.url}/key/enrol#${issued.json.activation_code}`;
    const enrolled = await cli('key', ['enroll', '--activation-code', link, '--store', join(dir, 'petr.json'), '--json']);
    expect(enrolled.json).toMatchObject({ sub: created.json.sub });

    const confidential = await admin(['client', 'create', '--name', 'Portál', '--redirect-uri', 'https://rp.example/cb', '--redirect-uri', 'https://rp.example/cb2', '--json']);
    expect(Object.keys(confidential.json).sort()).toEqual(['client_id', 'client_secret']);
    const pub = await admin(['client', 'create', '--name', 'SPA', '--redirect-uri', 'http://localhost:5173/cb', '--public', '--json']);
    expect(Object.keys(pub.json)).toEqual(['client_id']);
    // Refresh tokens: --grant-type refresh_token adds the grant; "" takes it away again.
    const offline = await admin(['client', 'create', '--name', 'Offline', '--redirect-uri', 'https://rp.example/cb', '--grant-type', 'refresh_token', '--json']);
    const updated = await admin(['client', 'update', offline.json.client_id as string, '--grant-type', '', '--json']);
    expect(updated.json.grant_types).toEqual(['authorization_code']);
    const readded = await admin(['client', 'update', offline.json.client_id as string, '--grant-type', 'refresh_token']);
    expect(readded.stdout).toMatch(/grant types: +authorization_code, refresh_token/);

    // A pairwise client (OIDC Core §8.1): its own sub per person, found back by the operator.
    const spans = await admin(['client', 'create', '--name', 'Obec', '--redirect-uri', 'https://a.example/cb', '--redirect-uri', 'https://b.example/cb', '--subject-type', 'pairwise']);
    expect(spans.code).toBe(1);
    expect(spans.stderr).toMatch(/one host/);
    const pairwise = await admin(['client', 'create', '--name', 'Obec', '--redirect-uri', 'https://obec.example/cb', '--subject-type', 'pairwise']);
    expect(pairwise.code).toBe(0);
    expect(pairwise.stdout).toMatch(/subject type: {2}pairwise \(sector obec\.example\)/);
    const clientId = /client_id: +(\S+)/.exec(pairwise.stdout)![1]!;
    const seen = await admin(['identity', 'subject', String(created.json.sub), clientId, '--json']);
    expect(seen.json).toMatchObject({ sub: created.json.sub, subject_type: 'pairwise', client_sub: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    // A pairwise sub is base64url and may start with "-": after "--" it is never read as an option.
    const never = await cli('admin', ['client', 'subject', clientId, '--json', '--server', server.url, '--', String(seen.json.client_sub)], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });
    expect(never.json).toMatchObject({ error: 'unknown-identity' }); // no token carried it yet
  });

  it('fails clearly: wrong token, unknown identity, missing arguments, a text that is not a login URL', async () => {
    const denied = await cli('admin', ['devices', 'sub_x', '--server', server.url, '--json'], { ADMIN_TOKEN: 'wrong' });
    expect(denied.code).toBe(1);
    expect(denied.json).toMatchObject({ error: 'unauthorized' });
    expect(denied.stderr).toMatch(/refused the operator token/);
    const unknown = await admin(['identity', 'activation-code', 'sub_nobody', '--json']);
    expect(unknown.json).toMatchObject({ error: 'unknown-identity' });
    const missing = await admin(['identity', 'create', '--given-name', 'X']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--family-name is required/);
    const notUrl = await cli('key', ['approve', 'https://example.com/', '--yes', '--store', store, '--json']);
    expect(notUrl.json).toMatchObject({ error: 'invalid-login-url' });
    const noLogin = await cli('key', ['approve', `${server.url}/key/login#${'a'.repeat(64)}.s0.${'s'.repeat(22)}`, '--yes', '--store', store, '--json']);
    expect(noLogin.code).toBe(1);
    expect(noLogin.json).toMatchObject({ error: 'not-found' });
    writeFileSync(join(dir, 'junk.json'), 'nope');
    const junk = await cli('key', ['deny', `${server.url}/key/login#${'a'.repeat(64)}.s0.${'s'.repeat(22)}`, '--store', join(dir, 'junk.json')]);
    expect(junk.stderr).toMatch(/not a mobile key store/);
  });

  /**
   * Starts a login as a relying service would: a PKCE authorization request to /authorize,
   * following it to the login page's snapshot with the binding cookie.
   * @returns null while this branch has no /authorize (the OpenID Provider is issue 4).
   */
  async function startLogin(clientId: string, redirectUri: string): Promise<{ id: string; loginUrl: string; cookie: string } | null> {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${server.url}/authorize?${query}`, { redirect: 'manual' });
    if (res.status === 404) return null;
    expect(res.status).toBe(303);
    const id = /\/login\/([0-9a-f]{64})$/.exec(res.headers.get('Location') ?? '')![1]!;
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
    const state = (await (await fetch(`${server.url}/login/${id}/state`, { headers: { Cookie: cookie } })).json()) as { loginUrl: string };
    return { id, loginUrl: state.loginUrl, cookie };
  }

  it('approves and denies logins started by a relying service', async (ctx) => {
    const client = await admin(['client', 'create', '--name', 'E2E Service', '--redirect-uri', 'http://127.0.0.1:9/cb', '--public', '--json']);
    const first = await startLogin(String(client.json.client_id), 'http://127.0.0.1:9/cb');
    if (!first) return ctx.skip('no /authorize on this branch yet: the OpenID Provider (issue 4) starts logins over HTTP');

    const created = await admin(['identity', 'create', '--given-name', 'Eva', '--family-name', 'Dvořáková', '--json']);
    const keyStore = join(dir, 'eva.json');
    const enrolled = await cli('key', ['enroll', '--activation-code', String(created.json.activation_code), '--server', server.url, '--store', keyStore, '--json']);
    expect(enrolled.code, enrolled.stderr).toBe(0);

    const approved = await cli('key', ['approve', first.loginUrl, '--yes', '--json', '--store', keyStore]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json).toMatchObject({ status: 'approved', client_name: 'E2E Service', sub: created.json.sub, login_id: first.id });
    expect(approved.stderr).toContain('Login request from E2E Service');
    const page = (await (await fetch(`${server.url}/login/${first.id}/state`, { headers: { Cookie: first.cookie } })).json()) as { state: string };
    expect(page.state).toBe('approved');

    const second = (await startLogin(String(client.json.client_id), 'http://127.0.0.1:9/cb'))!;
    const denied = await cli('key', ['deny', second.loginUrl, '--json', '--store', keyStore, '--server', server.url]);
    expect(denied.json).toMatchObject({ status: 'denied', client_name: 'E2E Service' });
    // A decided login cannot be decided again.
    const again = await cli('key', ['approve', second.loginUrl, '--yes', '--json', '--store', keyStore]);
    expect(again.code).toBe(1);
    expect(again.json).toMatchObject({ error: 'login-decided' });

    // Without --yes and without a terminal the CLI refuses before claiming the login.
    const third = (await startLogin(String(client.json.client_id), 'http://127.0.0.1:9/cb'))!;
    const noTty = await cli('key', ['approve', third.loginUrl, '--store', keyStore]);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/pass --yes/);
    const still = (await (await fetch(`${server.url}/login/${third.id}/state`, { headers: { Cookie: third.cookie } })).json()) as { state: string };
    expect(still.state).toBe('pending');

    // The holder revokes the key: a server it cannot reach revokes nothing and keeps the file.
    const kept = join(dir, 'eva-copy.json');
    copyFileSync(keyStore, kept);
    const offline = await cli('key', ['revoke', '--store', keyStore, '--server', 'http://127.0.0.1:9', '--json']);
    expect(offline.code).toBe(1);
    expect(offline.json).toMatchObject({ error: 'unreachable' });
    expect(existsSync(keyStore)).toBe(true);

    const revoked = await cli('key', ['revoke', '--store', keyStore, '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json).toEqual({ device_id: enrolled.json.device_id, revoked_at: expect.any(Number) });
    expect(existsSync(keyStore)).toBe(false);
    const listed = await admin(['devices', String(created.json.sub), '--json']);
    expect(listed.json).toMatchObject({ devices: [{ device_id: enrolled.json.device_id, revoked_at: revoked.json.revoked_at }] });
    const audit = await admin(['audit', String(created.json.sub), '--json']);
    expect((audit.json.events as { type: string; detail: unknown }[]).find((e) => e.type === 'device.revoked')).toMatchObject({ detail: { by: 'device' } });

    // A copy of the revoked key can no longer approve a login; the login stays open for another key.
    const fourth = (await startLogin(String(client.json.client_id), 'http://127.0.0.1:9/cb'))!;
    const refused = await cli('key', ['approve', fourth.loginUrl, '--yes', '--json', '--store', kept]);
    expect(refused.code).toBe(1);
    expect(refused.json).toMatchObject({ error: 'device-revoked' });
    const open = (await (await fetch(`${server.url}/login/${fourth.id}/state`, { headers: { Cookie: fourth.cookie } })).json()) as { state: string };
    expect(open.state).toBe('pending');
    // Revoking again is harmless: the first revocation time, and the copy is deleted too.
    const again2 = await cli('key', ['revoke', '--store', kept]);
    expect(again2.code, again2.stderr).toBe(0);
    expect(again2.stdout).toContain(`Revoked ${'Reference mobile key (CLI)'} (${enrolled.json.device_id})`);
    expect(again2.stdout).toContain(`Deleted ${kept}`);
    expect(existsSync(kept)).toBe(false);
    const missing = await cli('key', ['revoke', '--store', kept, '--json']);
    expect(missing.json).toMatchObject({ error: 'not-enrolled' });
  });
});
