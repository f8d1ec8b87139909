import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { sessionsOfDevice } from '../../src/browser-session/index-db.ts';
import { sha256Hex } from '../../src/session/crypto.ts';
import { answerAs, call, scanAs } from './helpers.ts';
import { enrolTestDevice, revoke } from './identity-helpers.ts';
import { authorize, codeRequest, continueLogin, loginFrom, newClient } from './oidc-support.ts';

/** /authorize for a fresh client, approved on the phone by an enrolled device. */
async function approvedByEnrolledDevice() {
  const tc = await newClient();
  const request = await codeRequest(tc);
  const login = await loginFrom(await authorize(request.params));
  const device = await enrolTestDevice('Pixel');
  const answer = await answerAs(login, device, 'approve', await scanAs(login, device));
  expect(answer.ok).toBe(true);
  return { tc, login, device };
}

const problemType = async (res: Response) => ((await res.json()) as { type: string }).type;

describe('turning an approval into a code (/login/:id/continue)', () => {
  it('is refused once the approving key has been revoked: no code delivered or kept, no browser session', async () => {
    const { login, device } = await approvedByEnrolledDevice();
    await revoke(device.id);
    const res = await continueLogin(login);
    expect(res.status).toBe(403);
    expect(await problemType(res)).toBe('urn:mobile-key:problem:device-revoked');
    expect(res.headers.get('Location')).toBeNull();
    expect(res.headers.getSetCookie().some((c) => c.startsWith('__Host-mk_session='))).toBe(false);
    // The code the object minted in the same call as the state is withdrawn, with its link.
    const kept = await runInDurableObject(login.stub, async (_i, state) => [await state.storage.get('code'), await state.storage.get('browserSession')]);
    expect(kept).toEqual([undefined, undefined]);
    expect(await sessionsOfDevice(env.DB, device.id)).toEqual([]);
  });

  it('indexes the new browser session under the approving key, so revoking the key finds it', async () => {
    const { login, device } = await approvedByEnrolledDevice();
    const res = await continueLogin(login);
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-mk_session='))!;
    expect(await sessionsOfDevice(env.DB, device.id)).toEqual([cookie.split('=')[1]!.split('.')[0]]);
  });

  it('is refused when the key is revoked while the session is being created: no code, no session, no row', async () => {
    const { login, device } = await approvedByEnrolledDevice();
    // The revocation reaches the planned session's object (found by its index row) before
    // /continue creates the session in it.
    const planned = env.BROWSER_SESSION.newUniqueId();
    await env.BROWSER_SESSION.get(planned).end('device-revoked');
    const spy = vi.spyOn(env.BROWSER_SESSION, 'newUniqueId').mockReturnValueOnce(planned);
    const res = await continueLogin(login);
    spy.mockRestore();
    expect(res.status).toBe(403);
    expect(await problemType(res)).toBe('urn:mobile-key:problem:device-revoked');
    expect(res.headers.get('Location')).toBeNull();
    expect(res.headers.getSetCookie().some((c) => c.startsWith('__Host-mk_session='))).toBe(false);
    expect(await runInDurableObject(login.stub, (_i, state) => state.storage.get('code'))).toBeUndefined();
    expect(await sessionsOfDevice(env.DB, device.id)).toEqual([]);
  });

  it('is refused when the approval is more than 5 minutes old, and indexes no session', async () => {
    const { login, device } = await approvedByEnrolledDevice();
    await runInDurableObject(login.stub, async (_instance, state) => {
      const record = (await state.storage.get<{ endedAt: number }>('login'))!;
      await state.storage.put('login', { ...record, endedAt: Date.now() - 5 * 60_000 - 1 });
    });
    const res = await continueLogin(login);
    expect(res.status).toBe(410);
    expect(await problemType(res)).toBe('urn:mobile-key:problem:login-expired');
    expect(await sessionsOfDevice(env.DB, device.id)).toEqual([]);
  });

  it('a HEAD (prefetch) issues nothing, so the code the browser then gets still works', async () => {
    const { tc, login } = await approvedByEnrolledDevice();
    const first = await continueLogin(login);
    expect(first.status).toBe(303);
    const head = await call(`/login/${login.id}/continue`, { method: 'HEAD', headers: { Cookie: login.cookie } });
    expect(head.status).toBe(405);
    const location = new URL(first.headers.get('Location')!);
    expect(location.origin + location.pathname).toBe(tc.redirectUri);
    const stored = await runInDurableObject(login.stub, (_i, state) => state.storage.get<{ hash: string }>('code'));
    expect(stored?.hash).toBe(await sha256Hex(location.searchParams.get('code')!));
  });

  it('a browser gets an HTML page for a refusal, not JSON', async () => {
    const { login, device } = await approvedByEnrolledDevice();
    await revoke(device.id);
    const res = await call(`/login/${login.id}/continue`, {
      headers: { Cookie: login.cookie, Accept: 'text/html,application/xhtml+xml' },
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('Content-Type')).toContain('text/html');
    expect(await res.text()).toContain('data-error');
  });
});
