/**
 * Figure 1: decision-to-page latency — from the moment the phone's approve request is sent to
 * the moment the page's WebSocket receives the approved snapshot.
 *
 * The phone's signature is made before the clock starts (the request's body is ready, as the
 * write-then-send floor's is): the sample is the server's and the loopback's time, not the
 * bench's own WebCrypto in Node (importing the private key and signing, ~0.2–0.3 ms, which a
 * phone does while the person is still looking at it).
 */
import { privateKey, scanLogin, type KeyStore } from '../cli/lib/mobile-client.ts';
import { PROTOCOL_VERSION, signDeviceMessage, signedMessage } from '../src/mobile/protocol.ts';
import { inPool, openPage, startLogin, type FlowServer, type RpClient } from '../test/e2e/flow.ts';

/** How many HTTP steps run at once while setting logins up (not measured). */
const SETUP_CONCURRENCY = 50;

/** The approve request's URL and JSON body, signed (docs/mobile-protocol.md §5). */
async function signedApproval(key: KeyStore, server: string, loginId: string, nonce: string): Promise<{ url: string; body: string }> {
  const message = signedMessage({ origin: new URL(server).origin, action: 'approve', loginId, deviceId: key.device_id, nonce });
  const signature = await signDeviceMessage(await privateKey(key), message);
  return {
    url: `${server}/api/mobile/logins/${loginId}/answer`,
    body: JSON.stringify({ version: PROTOCOL_VERSION, device_id: key.device_id, decision: 'approve', nonce, signature }),
  };
}

/**
 * Starts `concurrency` logins, opens each page's WebSocket and scans each with the phone, signs
 * each approval, then sends every approval at once and times each one to its page.
 * @returns one sample per login, in milliseconds.
 * @throws {Error} when an approval is not answered `approved`.
 */
export async function decisionToPage(server: FlowServer, rp: RpClient, key: KeyStore, concurrency: number): Promise<number[]> {
  const indexes = Array.from({ length: concurrency }, (_, i) => i);
  const logins = await inPool(indexes, SETUP_CONCURRENCY, () => startLogin(server, rp));
  const pages = await inPool(logins, SETUP_CONCURRENCY, (l) => openPage(server, l.loginId, l.cookie, 30_000));
  try {
    const scans = await inPool(logins, SETUP_CONCURRENCY, (l) => scanLogin({ loginUrl: l.loginUrl, store: key }));
    const approvals = await Promise.all(scans.map((s) => signedApproval(key, s.server, s.loginId, s.context.nonce)));
    return await Promise.all(
      approvals.map(async ({ url, body }, i) => {
        const page = pages[i]!;
        const from = page.messages.length;
        const sent = performance.now();
        const answered = fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal: AbortSignal.timeout(60_000) });
        const approved = await page.waitFor((m) => m.type === 'snapshot' && m.state === 'approved', {
          from,
          timeoutMs: 60_000,
        });
        const response = await answered;
        const answer = (await response.json()) as { status?: string };
        if (!response.ok || answer.status !== 'approved') throw new Error(`approve → ${response.status} ${JSON.stringify(answer)}`);
        return page.receivedAt[page.messages.indexOf(approved)]! - sent;
      }),
    );
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
}
