import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';

describe('front page', () => {
  it('says what the service is and links the demo, the web app, enrolment help and the metadata', async () => {
    const res = await call('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain('<html lang="cs">');
    expect(html).toContain('Přihlášení mobilním klíčem');
    for (const href of ['/demo', '/key/', '/create-mobile-key', '/.well-known/openid-configuration']) {
      expect(html).toContain(`href="${href}"`);
    }
  });

  it('speaks English when asked', async () => {
    const html = await (await call('/', { headers: { 'Accept-Language': 'en-GB,en;q=0.8' } })).text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Try the demo service');
    expect(await (await call('/?lang=en')).text()).toContain('Log in with a mobile key');
  });
});

describe('favicon', () => {
  it('/favicon.ico leads to the SVG icon', async () => {
    const res = await call('/favicon.ico', { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('Location')).toBe('/static/favicon.svg');
  });
});

describe('unknown paths', () => {
  it('show a browser a page in its language and give API clients problem+json', async () => {
    const page = await call('/no/such/page', { headers: { Accept: 'text/html,application/xhtml+xml', 'Accept-Language': 'en' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('Content-Type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Page not found');
    expect(html).toContain('href="/"');
    const api = await call('/no/such/page', { headers: { Accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('Content-Type')).toBe('application/problem+json');
  });
});
