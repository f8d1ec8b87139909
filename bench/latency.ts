/**
 * Figure 1: decision-to-page latency — from the moment the phone's approve request is sent to
 * the moment the page's WebSocket receives the approved snapshot.
 */
import { answerLogin, scanLogin, type KeyStore } from '../cli/lib/mobile-client.ts';
import { inPool, openPage, startLogin, type FlowServer, type RpClient } from '../test/e2e/flow.ts';

/** How many HTTP steps run at once while setting logins up (not measured). */
const SETUP_CONCURRENCY = 50;

/**
 * Starts `concurrency` logins, opens each page's WebSocket and scans each with the phone, then
 * sends every approval at once and times each one to its page.
 * @returns one sample per login, in milliseconds (includes the phone's signing, ~0.1 ms).
 */
export async function decisionToPage(server: FlowServer, rp: RpClient, key: KeyStore, concurrency: number): Promise<number[]> {
  const indexes = Array.from({ length: concurrency }, (_, i) => i);
  const logins = await inPool(indexes, SETUP_CONCURRENCY, () => startLogin(server, rp));
  const pages = await inPool(logins, SETUP_CONCURRENCY, (l) => openPage(server, l.loginId, l.cookie, 30_000));
  try {
    const scans = await inPool(logins, SETUP_CONCURRENCY, (l) => scanLogin({ loginUrl: l.loginUrl, store: key }));
    return await Promise.all(
      scans.map(async (scan, i) => {
        const page = pages[i]!;
        const from = page.messages.length;
        const sent = performance.now();
        const answered = answerLogin({
          server: scan.server,
          loginId: scan.loginId,
          nonce: scan.context.nonce,
          decision: 'approve',
          store: key,
        });
        const approved = await page.waitFor((m) => m.type === 'snapshot' && m.state === 'approved', {
          from,
          timeoutMs: 60_000,
        });
        await answered;
        return page.receivedAt[page.messages.indexOf(approved)]! - sent;
      }),
    );
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
}
