import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, call } from './helpers.ts';

/** A static asset as the assets layer in front of the Worker serves it. */
function asset(path: string): Promise<Response> {
  return env.ASSETS.fetch(new Request(new URL(path, BASE)));
}

/** The script and style URLs the shell loads. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('GET /key/* (the web app shell)', () => {
  for (const path of ['/key/', '/key/enrol', '/key/login']) {
    it(`${path} serves the shell with the security headers`, async () => {
      const res = await call(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
      const csp = res.headers.get('Content-Security-Policy')!;
      const directives = Object.fromEntries(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(directives['script-src']).toBe("'self'");
      expect(directives['connect-src']).toBe("'self'");
      expect(directives['img-src']).toBe("'self' data: blob:");
      expect(directives['media-src']).toBe("'self' blob: mediastream:");
      expect(directives['frame-ancestors']).toBe("'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');

      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('<html lang="cs">');
      expect(html).toContain('<title>Mobilní klíč</title>');
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1');
      expect(html).toContain('<meta name="theme-color" content="#0b4f8a">');
      expect(html).toContain('<link rel="manifest" href="/key/manifest.webmanifest">');
      expect(html).toContain('<script type="module" src="/static/app.js"></script>');
      // No inline script: every <script> has a src (the CSP would block it anyway).
      expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/static/app.js">']);
    });
  }

  it('every script, style and icon the shell names is a built asset', async () => {
    const html = await (await call('/key/')).text();
    const assets = assetsOf(html);
    expect(assets).toEqual(
      expect.arrayContaining(['/static/app.js', '/static/app.css', '/static/icons/key.svg', '/static/icons/key-192.png']),
    );
    for (const path of assets) {
      const res = await asset(path);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
  });

  it('/key redirects to /key/ (the manifest scope)', async () => {
    const res = await call('/key', { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(res.headers.get('Location')).toBe('/key/');
  });

  it('an unknown /key path is a problem+json 404, not the shell', async () => {
    const res = await call('/key/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(((await res.json()) as { type: string }).type).toBe('urn:mobile-key:problem:not-found');
  });

  it('POST to the shell is refused without a 500', async () => {
    const res = await call('/key/login', { method: 'POST' });
    expect(res.status).toBe(404);
  });
});

describe('GET /key/manifest.webmanifest', () => {
  it('is an installable manifest: name, standalone, start_url in scope, 192/512 and maskable icons', async () => {
    const res = await call('/key/manifest.webmanifest');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/manifest\+json/);
    const manifest = (await res.json()) as {
      name: string;
      short_name: string;
      start_url: string;
      scope: string;
      display: string;
      theme_color: string;
      icons: { src: string; sizes: string; type: string; purpose: string }[];
    };
    expect(manifest.name).toBe('Mobilní klíč');
    expect(manifest.short_name.length).toBeLessThanOrEqual(12);
    expect(manifest.display).toBe('standalone');
    expect(manifest.start_url.startsWith(manifest.scope)).toBe(true);
    expect(manifest.start_url).toBe('/key/');
    const sizes = (purpose: string) => manifest.icons.filter((i) => i.purpose === purpose).map((i) => i.sizes);
    expect(sizes('any')).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(sizes('maskable')).toContain('512x512');
    for (const icon of manifest.icons) {
      const res = await asset(icon.src);
      expect(res.status, icon.src).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (icon.type === 'image/png') {
        // PNG signature, then the IHDR width and height match the declared size.
        expect([...bytes.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
        const view = new DataView(bytes.buffer);
        expect(`${view.getUint32(16)}x${view.getUint32(20)}`).toBe(icon.sizes);
      }
    }
  });
});
