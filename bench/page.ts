/**
 * Figure 4: what the hosted login page costs a browser — bytes of everything it loads (raw and
 * gzip) and the time from navigation start to the QR painted — against the peer's login page.
 *
 * Each run starts where a person does: on the service's own page, on another site, whose "Log in"
 * link leads to the authorization request (docs/performance.md "The page's paint: where the
 * person comes from"). A fresh tab's about:blank instead would let a page without
 * `Cross-Origin-Opener-Policy` (the peer's) keep the tab's first renderer, while ours, with
 * `same-origin`, pays a new one (~40 ms here) that a navigation from another site pays anyway.
 */
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { newContext, DESKTOP } from '../test/e2e/browser.ts';
import { median } from './lib/stats.ts';

export interface PageCost {
  requests: number;
  bytes: number;
  gzipBytes: number;
  /** Median milliseconds from navigation start to first contentful paint. */
  paintMs: number;
  runs: number;
  /** Requests the first paint waited for: the document plus every render-blocking resource. */
  requestsForFirstPaint: number;
  /** Static files the page loads (`/static/…`), and how many have a content hash in the name and are served `immutable`. */
  staticFiles: { total: number; hashedImmutable: number };
  /** Every response of the first run, in the order they arrived: its path (no query), raw and gzip bytes. */
  resources: { path: string; bytes: number; gzipBytes: number }[];
}

/**
 * Loads `url` (an authorization request that lands on a login page) `runs` times in fresh
 * contexts, summing the bodies of every response and reading the paint timing.
 * The QR is inline SVG in the first HTML response with only a blocking stylesheet before it, so
 * its paint is the first contentful paint; `waitFor` checks it is on screen.
 */
export async function pageCost(browser: Browser, url: () => Promise<string>, waitFor: string, runs: number): Promise<PageCost> {
  const service = await servicePage();
  try {
    return await measure(browser, url, waitFor, runs, service.url);
  } finally {
    service.server.close();
  }
}

/**
 * The relying service's page: a plain document on 127.0.0.1 (another site than the servers' on
 * `localhost`) with one link, `/?to=<url>` → `<a id="login" href="<url>">`. Loopback only.
 */
async function servicePage(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const to = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('to') ?? '';
    const href = /^http:\/\/localhost:\d+\//.test(to) ? to.replace(/&/g, '&amp;').replace(/"/g, '&quot;') : '#';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><title>Service</title><body><a id="login" href="${href}">Log in</a></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/` };
}

async function measure(browser: Browser, url: () => Promise<string>, waitFor: string, runs: number, service: string): Promise<PageCost> {
  const paints: number[] = [];
  let bytes = 0;
  let gzipBytes = 0;
  let requests = 0;
  let requestsForFirstPaint = Number.NaN;
  const staticFiles = { total: 0, hashedImmutable: 0 };
  let resources: PageCost['resources'] = [];
  for (let run = 0; run < runs; run++) {
    const context = await newContext(browser, DESKTOP);
    const page = await context.newPage();
    const bodies: Promise<{ path: string; body: Buffer | null }>[] = [];
    page.on('response', (response) => {
      if (response.status() >= 300 && response.status() < 400) return;
      if (new URL(response.url()).hostname !== 'localhost') return; // the service's own page
      const path = new URL(response.url()).pathname;
      bodies.push(response.body().then((body) => ({ path, body }), () => ({ path, body: null })));
      if (run === 0 && path.startsWith('/static/')) {
        staticFiles.total++;
        const hashed = /-[0-9A-Za-z_-]{8}\.\w+$/.test(path); // Vite names: name-<8-char hash>.ext
        if (hashed && /immutable/.test(response.headers()['cache-control'] ?? '')) staticFiles.hashedImmutable++;
      }
    });
    await page.goto(`${service}?to=${encodeURIComponent(await url())}`, { waitUntil: 'load' });
    await Promise.all([page.waitForURL((u) => u.hostname === 'localhost', { waitUntil: 'load', timeout: 15_000 }), page.click('#login')]);
    await page.waitForSelector(waitFor, { state: 'visible', timeout: 15_000 });
    const fcp = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    );
    paints.push(fcp);
    if (run === 0) {
      requestsForFirstPaint =
        1 +
        (await page.evaluate(
          () =>
            (performance.getEntriesByType('resource') as (PerformanceResourceTiming & { renderBlockingStatus?: string })[]).filter(
              (r) => r.renderBlockingStatus === 'blocking',
            ).length,
        ));
      const loaded = (await Promise.all(bodies)).filter((b): b is { path: string; body: Buffer } => b.body !== null);
      resources = loaded.map(({ path, body }) => ({ path, bytes: body.byteLength, gzipBytes: gzipSync(body, { level: 9 }).byteLength }));
      requests = resources.length;
      bytes = resources.reduce((n, r) => n + r.bytes, 0);
      gzipBytes = resources.reduce((n, r) => n + r.gzipBytes, 0);
    }
    await context.close();
  }
  return { requests, bytes, gzipBytes, paintMs: median(paints), runs, requestsForFirstPaint, staticFiles, resources };
}
