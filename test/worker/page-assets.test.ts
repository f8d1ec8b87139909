/**
 * The hosted page's built files (src/login/assets.ts, vite.config.ts): a browser's first load
 * gets the page CSS inline, allowed by its hash (never 'unsafe-inline'), and a script whose
 * name carries a content hash and is served immutable. Needs the built client (npm test builds
 * it first), as the Worker reads the build's login-assets.json.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { styleHashOf } from '../../src/login/assets.ts';
import { BASE, call, startTestLogin } from './helpers.ts';

/** A static file as the asset router serves it (before the Worker, as in production). */
const asset = (path: string) => env.ASSETS.fetch(new Request(new URL(path, BASE)));

const BROWSER = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('the hosted login page as a browser first loads it', () => {
  it('inlines its CSS under a CSP hash and names a hashed, immutable script', async () => {
    const login = await startTestLogin();
    const res = await call(`/login/${login.id}`, { headers: { Cookie: login.cookie, ...BROWSER } });
    expect(res.status).toBe(200);
    const html = await res.text();

    // One request to the first paint: no stylesheet to fetch, the CSS is in the document.
    expect(html).not.toContain('rel="stylesheet"');
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
    expect(style, 'an inline <style>').toBeDefined();
    expect(style).toContain('.qr');
    const csp = res.headers.get('Content-Security-Policy') ?? '';
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(new RegExp(`style-src 'self' ${(await styleHashOf(style!)).replace(/[+/]/g, '\\$&')}(;|$)`));
    expect(html).toMatch(/<link rel="icon" href="data:image\/svg\+xml,[^"]+"/);

    const script = /<script type="module" src="(\/static\/login-[\w-]{8}\.js)"><\/script>/.exec(html)?.[1];
    expect(script, 'a hashed login script').toBeDefined();
    const served = await asset(script!);
    expect(served.status).toBe(200);
    expect(served.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    // It is the only file the page loads: a plain script that imports nothing (no shared chunk, no framework).
    const code = await served.text();
    expect(code).not.toMatch(/\bimport\s*[("{*\w]|\bfrom\s*["']/);
    expect(code).not.toContain('preact');
  });

  it('keeps fixed-name files revalidated (no-cache), so a new deployment is picked up', async () => {
    const res = await asset('/static/app.js');
    await res.body?.cancel();
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-cache');
  });
});
