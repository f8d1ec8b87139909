/**
 * The floor for decision-to-page latency: a WebSocket message's round trip through a trivial
 * hibernatable Durable Object on the same runtime (bench/echo/).
 */
import { startServer, type RunningServer } from '../scripts/lib/server.ts';

/** Starts the echo worker (bench/echo/) under `wrangler dev` on a free loopback port. */
export function startEcho(options: { maxOpenFiles?: number } = {}): Promise<RunningServer> {
  return startServer({
    secrets: { ADMIN_TOKEN: 'unused', SIGNING_KEYS: '[]', PAIRWISE_SECRET: 'unused', VAPID_KEYS: '' },
    configPath: 'bench/echo/wrangler.toml',
    ...options,
  });
}

/** Opens a WebSocket and resolves once it is open; rejects after `timeoutMs`. */
export function openSocket(url: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url} failed`));
    };
  });
}

/** Waits for the first message satisfying `accept`; rejects after `timeoutMs`. */
export function waitForMessage(ws: WebSocket, accept: (data: string) => boolean, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
    const listener = (event: MessageEvent) => {
      if (accept(String(event.data))) {
        clearTimeout(timer);
        ws.removeEventListener('message', listener);
        resolve(performance.now());
      }
    };
    ws.addEventListener('message', listener);
  });
}

/**
 * Round trips through `concurrency` echo objects at once, `rounds` times.
 * @returns samples in milliseconds.
 */
export async function echoRoundTrips(echo: RunningServer, concurrency: number, rounds: number): Promise<number[]> {
  const base = echo.url.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  for (let i = 0; i < concurrency; i += 100) {
    const batch = Array.from({ length: Math.min(100, concurrency - i) }, (_, j) => openSocket(`${base}/ws/echo-${i + j}`));
    sockets.push(...(await Promise.all(batch)));
  }
  const samples: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const results = await Promise.all(
        sockets.map((ws, i) => {
          const tag = `r${round}-${i}`;
          const received = waitForMessage(ws, (data) => data === tag);
          const sent = performance.now();
          ws.send(tag);
          return received.then((at) => at - sent);
        }),
      );
      samples.push(...results);
    }
  } finally {
    for (const ws of sockets) ws.close();
  }
  return samples;
}

/**
 * The floor for decision-to-page: `concurrency` sockets held by as many echo objects, then an
 * HTTP POST to each object at once that writes one key and sends on its socket (an approval's
 * shape), timed from just before the POST to the socket's message; `rounds` times.
 * @returns samples in milliseconds.
 */
export async function writeThenSend(echo: { url: string }, concurrency: number, rounds: number): Promise<number[]> {
  const base = echo.url.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  for (let i = 0; i < concurrency; i += 100) {
    const batch = Array.from({ length: Math.min(100, concurrency - i) }, (_, j) => openSocket(`${base}/ws/wts-${i + j}`));
    sockets.push(...(await Promise.all(batch)));
  }
  const samples: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const results = await Promise.all(
        sockets.map(async (ws, i) => {
          const tag = `w${round}-${i}`;
          const received = waitForMessage(ws, (data) => data === tag);
          const sent = performance.now();
          const res = await fetch(`${echo.url}/send/wts-${i}`, { method: 'POST', body: tag, signal: AbortSignal.timeout(60_000) });
          await res.arrayBuffer();
          return (await received) - sent;
        }),
      );
      samples.push(...results);
    }
  } finally {
    for (const ws of sockets) ws.close();
  }
  return samples;
}

/** Median time to first byte of `count` sequential GETs of `url` (after one warm-up), in milliseconds. */
export async function trivialRequest(url: string, count = 50): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i <= count; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const ttfb = performance.now() - t0;
    await res.arrayBuffer();
    if (i > 0) samples.push(ttfb);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}
