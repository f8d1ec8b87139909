import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { median } from '../../src/console/figures.ts';
import { getClient } from '../../src/oidc/clients.ts';
import { consoleBrowser } from './console-support.ts';
import { authorize, codeRequest, decide, loginFrom, newPerson } from './oidc-support.ts';

describe('relying services in the console', () => {
  it('an admin registers a confidential service, sees its secret once, edits, rotates and disables it', async () => {
    const admin = await consoleBrowser('admin');
    const created = await admin.post('/console/clients', { csrf: admin.csrf, name: 'Městská knihovna', redirect_uris: 'https://knihovna.example/cb\nhttps://knihovna.example/cb2' });
    expect(created.status).toBe(200);
    const html = await created.text();
    const clientId = /id="client-id">([^<]+)</.exec(html)![1]!;
    const secret = /id="client-secret">([^<]+)</.exec(html)![1]!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await getClient(env.DB, clientId))?.redirectUris).toEqual(['https://knihovna.example/cb', 'https://knihovna.example/cb2']);
    const page = await (await admin.get(`/console/clients/${clientId}`)).text();
    expect(page).not.toContain(secret);
    const audited = await env.DB.prepare("SELECT operator FROM audit_events WHERE type = 'client.registered' AND client_id = ?1").bind(clientId).first<{ operator: string }>();
    expect(audited?.operator).toBe(admin.sub);

    expect((await admin.post(`/console/clients/${clientId}`, { csrf: admin.csrf, name: 'Knihovna', redirect_uris: 'https://knihovna.example/new' })).status).toBe(303);
    expect(await getClient(env.DB, clientId)).toMatchObject({ name: 'Knihovna', redirectUris: ['https://knihovna.example/new'] });

    const rotated = await (await admin.post(`/console/clients/${clientId}/secret`, { csrf: admin.csrf })).text();
    const newSecret = /id="client-secret">([^<]+)</.exec(rotated)![1]!;
    expect(newSecret).not.toBe(secret);

    expect((await admin.post(`/console/clients/${clientId}/disable`, { csrf: admin.csrf })).status).toBe(303);
    expect(await getClient(env.DB, clientId)).toBeNull();
    const refused = await authorize({ client_id: clientId, redirect_uri: 'https://knihovna.example/new', response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(refused.status).toBe(400);
  });

  it('registers and edits logout URIs and the ID token alg, validated as the operator API validates them', async () => {
    const admin = await consoleBrowser('admin');
    const created = await admin.post('/console/clients', {
      csrf: admin.csrf,
      name: 'Portál',
      redirect_uris: 'https://portal.example/cb',
      id_token_alg: 'RS256',
      post_logout_redirect_uris: 'https://portal.example/bye\nhttps://portal.example/bye2',
      backchannel_logout_uri: 'https://portal.example/backchannel',
      frontchannel_logout_uri: '',
    });
    expect(created.status).toBe(200);
    const clientId = /id="client-id">([^<]+)</.exec(await created.text())![1]!;
    expect(await getClient(env.DB, clientId)).toMatchObject({
      idTokenAlg: 'RS256',
      postLogoutRedirectUris: ['https://portal.example/bye', 'https://portal.example/bye2'],
      backchannelLogoutUri: 'https://portal.example/backchannel',
      frontchannelLogoutUri: null,
    });
    const form = await (await admin.get(`/console/clients/${clientId}`)).text();
    expect(form).toContain('value="https://portal.example/backchannel"');
    expect(form).toMatch(/<option value="RS256" selected/);

    const edited = await admin.post(`/console/clients/${clientId}`, {
      csrf: admin.csrf,
      name: 'Portál',
      redirect_uris: 'https://portal.example/cb',
      id_token_alg: 'ES256',
      post_logout_redirect_uris: '',
      backchannel_logout_uri: '',
      frontchannel_logout_uri: 'https://portal.example/frontchannel',
    });
    expect(edited.status).toBe(303);
    expect(await getClient(env.DB, clientId)).toMatchObject({
      idTokenAlg: 'ES256',
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      frontchannelLogoutUri: 'https://portal.example/frontchannel',
    });
    const audited = await env.DB.prepare("SELECT operator FROM audit_events WHERE type = 'client.updated' AND client_id = ?1").bind(clientId).first<{ operator: string }>();
    expect(audited?.operator).toBe(admin.sub);

    // The API's rules: https except loopback, no fragment, no repeats, a known alg; nothing changes.
    for (const bad of [
      { backchannel_logout_uri: 'http://portal.example/bc' },
      { frontchannel_logout_uri: 'https://portal.example/fc#x' },
      { post_logout_redirect_uris: 'https://portal.example/bye\nhttps://portal.example/bye' },
      { id_token_alg: 'none' },
    ] as Record<string, string>[]) {
      const res = await admin.post(`/console/clients/${clientId}`, { csrf: admin.csrf, name: 'Zlá', redirect_uris: 'https://portal.example/cb', ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      const html = await res.text();
      expect(html).toContain('id="form-error"');
      expect(html).toContain('value="Zlá"');
    }
    expect(await getClient(env.DB, clientId)).toMatchObject({ name: 'Portál', idTokenAlg: 'ES256', frontchannelLogoutUri: 'https://portal.example/frontchannel' });
  });

  it('refuses what the operator API refuses and changes nothing', async () => {
    const admin = await consoleBrowser('admin');
    const before = await env.DB.prepare('SELECT count(*) AS n FROM clients').first<{ n: number }>();
    for (const redirect_uris of ['http://evil.example/cb', 'https://a.example/cb#frag', '']) {
      const res = await admin.post('/console/clients', { csrf: admin.csrf, name: 'Zlá služba', redirect_uris });
      expect(res.status, redirect_uris).toBe(400);
      expect(await res.text()).toContain('id="form-error"');
    }
    expect((await env.DB.prepare('SELECT count(*) AS n FROM clients').first<{ n: number }>())!.n).toBe(before!.n);
  });
});

describe('audit and live figures', () => {
  it('filters the audit by operator, kind and identity', async () => {
    const clerk = await consoleBrowser('clerk');
    const admin = await consoleBrowser('admin');
    await clerk.post('/console/people', { csrf: clerk.csrf, given_name: 'Filip', family_name: 'Filtr' });
    const byOperator = await (await admin.get(`/console/audit?operator=${clerk.sub}`)).text();
    const kinds = [...byOperator.matchAll(/<td class="kind">([^<]+)</g)].map((m) => m[1]);
    expect(kinds.sort()).toEqual(['activation-code.issued', 'identity.created']);
    const onlyCodes = await (await admin.get(`/console/audit?operator=${clerk.sub}&type=identity.created`)).text();
    expect([...onlyCodes.matchAll(/<td class="kind">([^<]+)</g)].map((m) => m[1])).toEqual(['identity.created']);
    const future = await (await admin.get(`/console/audit?operator=${clerk.sub}&from=2999-01-01T00:00`)).text();
    expect(future).not.toContain('<td class="kind">');
  });

  it('the last hour’s figures count logins from the audit and change after one', async () => {
    const admin = await consoleBrowser('admin');
    const read = async () => (await (await admin.get('/console/figures.json')).json()) as Record<string, number | null>;
    const before = await read();
    const person = await newPerson();
    const { registerClient } = await import('../../src/oidc/clients.ts');
    const { client } = await registerClient(env.DB, { name: 'Figures RP', redirectUris: ['https://figures.example/cb'], public: true });
    const request = await codeRequest({ client: { client_id: client.clientId }, redirectUri: 'https://figures.example/cb', name: 'Figures RP' });
    const login = await loginFrom(await authorize(request.params));
    await decide(login, person.sub);
    // The phone API writes login.approved; the test's decide() talks to the object directly.
    await env.DB.prepare("INSERT INTO audit_events (at, type, sub, client_id, detail) VALUES (?1, 'login.approved', ?2, ?3, ?4)")
      .bind(Date.now(), person.sub, client.clientId, JSON.stringify({ login_id: login.id }))
      .run();
    const after = await read();
    expect(after.started).toBe((before.started as number) + 1);
    expect(after.approved).toBe((before.approved as number) + 1);
    expect(after.median_approval_ms).toBeGreaterThanOrEqual(0);
    const page = await admin.get('/console/figures');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/static/console.js">');
    expect(page.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
  });

  it('median', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
