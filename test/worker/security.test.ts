/**
 * Fixes from the adversarial review (issue 14), one block per finding; docs/security.md maps
 * each to the attack it closes.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { secureServerUrl } from '../../cli/lib/common.ts';
import { BASE, call } from './helpers.ts';

/** Every `href` on a page, resolved against the page's URL as a browser would. */
function linksOf(html: string, pageUrl: string): URL[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => new URL(m[1]!.replaceAll('&amp;', '&'), pageUrl));
}

describe('review 3: the 404 page links only to our own origin', () => {
  for (const path of ['//evil.example/x', '/\\evil.example/x', '//evil.example/%2e%2e/x', '/%2F%2Fevil.example']) {
    it(`for ${path}`, async () => {
      const url = `${BASE}${path}`;
      const res = await exports.default.fetch(new Request(url, { headers: { Accept: 'text/html', 'Accept-Language': 'en' } }));
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('Page not found');
      const links = linksOf(html, res.url || url);
      expect(links.some((l) => l.searchParams.get('lang') === 'cs')).toBe(true);
      for (const link of links) expect(link.origin).toBe(new URL(BASE).origin);
      expect(html).not.toContain('evil.example');
    });
  }
});

describe('review 9: the operator CLI refuses plain http off loopback', () => {
  it('accepts https anywhere and http on loopback only', () => {
    expect(secureServerUrl('https://login.example/')).toBe('https://login.example');
    for (const local of ['http://localhost:8788', 'http://127.0.0.1:9000/', 'http://[::1]:8788', 'http://app.localhost']) {
      expect(() => secureServerUrl(local)).not.toThrow();
    }
    for (const remote of ['http://login.example', 'http://10.0.0.5:8788', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io']) {
      expect(() => secureServerUrl(remote)).toThrow(/must use https/);
    }
  });
});

describe('review 8: the /authorize error page and /demo carry the hosted pages\' security headers', () => {
  const pages: [string, string][] = [
    ['/authorize error page', '/authorize?client_id=nobody&response_type=code&scope=openid'],
    ['/demo', '/demo'],
    ['/demo/callback refusal', '/demo/callback?code=x&state=y'],
  ];
  for (const [name, path] of pages) {
    it(name, async () => {
      const res = await call(path, { headers: { Accept: 'text/html' } });
      expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
      const csp = res.headers.get('Content-Security-Policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('X-Frame-Options')).toBe('DENY');
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
      expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      // The page's one inline style is admitted by its hash, so it still renders styled.
      const style = /<style>([\s\S]*?)<\/style>/.exec(await res.text())![1]!;
      const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(style)))));
      expect(csp).toContain(`'sha256-${digest}'`);
    });
  }
});
