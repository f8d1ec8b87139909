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
import { median, percentile } from './lib/stats.ts';

export interface PageCost {
  requests: number;
  bytes: number;
  gzipBytes: number;
  /** Median milliseconds from navigation start to first contentful paint. */
  paintMs: number;
  /** Its 25th and 75th percentiles, in milliseconds: how far the runs spread. */
  paintP25Ms: number;
  paintP75Ms: number;
  /** The median of each point of the loads' timelines: where the time before the paint went. */
  timelineMs: Timeline;
  runs: number;
  /** Requests the first paint waited for: the document plus every render-blocking resource. */
  requestsForFirstPaint: number;
  /** Static files the page loads (`/static/…`), and how many have a content hash in the name and are served `immutable`. */
  staticFiles: { total: number; hashedImmutable: number };
  /** Every response of the first run, in the order they arrived: its path (no query), raw and gzip bytes. */
  resources: { path: string; bytes: number; gzipBytes: number }[];
}

/** One login page to measure: how to get a fresh authorization request, and what shows it is painted. */
export interface PageUnderTest {
  url: () => Promise<string>;
  /** A selector visible once the page's main content is on screen (our QR, the peer's form). */
  waitFor: string;
}

/**
 * Loads each page once untimed, then `runs` times **interleaved** (run r loads every page once,
 * the order rotated each run), in fresh contexts of one browser: the bodies of every response of
 * the untimed load, the paint timing and timeline of each timed one. Interleaving is what makes
 * the pages comparable on a shared machine: a page measured minutes after another meets another
 * load (docs/performance.md "The page's paint, loaded in turn with the peer's").
 * Our QR is inline SVG in the first HTML response with no blocking resource before it, so its
 * paint is the first contentful paint; `waitFor` checks it is on screen.
 * @returns one {@link PageCost} per page, in the order given.
 */
export async function pageCosts(browser: Browser, pages: PageUnderTest[], runs: number): Promise<PageCost[]> {
  const service = await servicePage();
  try {
    const states = pages.map(() => newState());
    // A first load of each, not timed: the browser's own first navigation (its network service,
    // caches, a first renderer) would otherwise be charged to whichever page comes first. It
    // records what each page loads.
    for (const [i, target] of pages.entries()) await measureOnce(browser, target, service.url, states[i]!, true);
    for (let run = 0; run < runs; run++) {
      for (let k = 0; k < pages.length; k++) {
        const i = (k + run) % pages.length;
        await measureOnce(browser, pages[i]!, service.url, states[i]!, false);
      }
    }
    return states.map((s) => ({
      ...s.cost,
      paintMs: median(s.paints),
      paintP25Ms: percentile(s.paints, 25),
      paintP75Ms: percentile(s.paints, 75),
      timelineMs: medianTimeline(s.timelines),
      runs,
    }));
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

/** Milliseconds from navigation start (W3C Navigation Timing 2) to each point of one load. */
export interface Timeline {
  /** The redirect from the authorization request answered (`redirectEnd`). */
  redirectedMs: number;
  /** The login page's first and last byte (`responseStart`, `responseEnd`). */
  firstByteMs: number;
  lastByteMs: number;
  /** The document parsed (`domInteractive`). */
  domInteractiveMs: number;
}

interface State {
  paints: number[];
  timelines: Timeline[];
  cost: Omit<PageCost, 'paintMs' | 'paintP25Ms' | 'paintP75Ms' | 'timelineMs' | 'runs'>;
}

function medianTimeline(timelines: Timeline[]): Timeline {
  const at = (k: keyof Timeline) => Math.round(median(timelines.map((t) => t[k])));
  return { redirectedMs: at('redirectedMs'), firstByteMs: at('firstByteMs'), lastByteMs: at('lastByteMs'), domInteractiveMs: at('domInteractiveMs') };
}

function newState(): State {
  return { paints: [], timelines: [], cost: { requests: 0, bytes: 0, gzipBytes: 0, requestsForFirstPaint: Number.NaN, staticFiles: { total: 0, hashedImmutable: 0 }, resources: [] } };
}

/** One load of `target` from the service's page: its paint and timeline, or (the `first`, untimed load) what it loaded. */
async function measureOnce(browser: Browser, target: PageUnderTest, service: string, state: State, first: boolean): Promise<void> {
  const { cost } = state;
  const context = await newContext(browser, DESKTOP);
  try {
    const page = await context.newPage();
    const bodies: Promise<{ path: string; body: Buffer | null }>[] = [];
    page.on('response', (response) => {
      if (response.status() >= 300 && response.status() < 400) return;
      if (new URL(response.url()).hostname !== 'localhost') return; // the service's own page
      const path = new URL(response.url()).pathname;
      bodies.push(response.body().then((body) => ({ path, body }), () => ({ path, body: null })));
      if (first && path.startsWith('/static/')) {
        cost.staticFiles.total++;
        const hashed = /-[0-9A-Za-z_-]{8}\.\w+$/.test(path); // Vite names: name-<8-char hash>.ext
        if (hashed && /immutable/.test(response.headers()['cache-control'] ?? '')) cost.staticFiles.hashedImmutable++;
      }
    });
    await page.goto(`${service}?to=${encodeURIComponent(await target.url())}`, { waitUntil: 'load' });
    await Promise.all([page.waitForURL((u) => u.hostname === 'localhost', { waitUntil: 'load', timeout: 15_000 }), page.click('#login')]);
    await page.waitForSelector(target.waitFor, { state: 'visible', timeout: 15_000 });
    // Navigation start to first contentful paint; the entry can lag the paint itself by a frame.
    const fcp = await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime, undefined, { timeout: 5_000 });
    if (!first) {
      state.paints.push(Number(await fcp.jsonValue()));
      state.timelines.push(
        await page.evaluate(() => {
          const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          return { redirectedMs: n.redirectEnd, firstByteMs: n.responseStart, lastByteMs: n.responseEnd, domInteractiveMs: n.domInteractive };
        }),
      );
      return;
    }
    cost.requestsForFirstPaint =
      1 +
      (await page.evaluate(
        () =>
          (performance.getEntriesByType('resource') as (PerformanceResourceTiming & { renderBlockingStatus?: string })[]).filter(
            (r) => r.renderBlockingStatus === 'blocking',
          ).length,
      ));
    const loaded = (await Promise.all(bodies)).filter((b): b is { path: string; body: Buffer } => b.body !== null);
    cost.resources = loaded.map(({ path, body }) => ({ path, bytes: body.byteLength, gzipBytes: gzipSync(body, { level: 9 }).byteLength }));
    cost.requests = cost.resources.length;
    cost.bytes = cost.resources.reduce((n, r) => n + r.bytes, 0);
    cost.gzipBytes = cost.resources.reduce((n, r) => n + r.gzipBytes, 0);
  } finally {
    await context.close();
  }
}
