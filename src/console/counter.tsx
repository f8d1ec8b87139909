/**
 * The counter (role `clerk`): find or create a person, issue an activation code (a printable
 * slip with the code large and a QR of the activation link), see the person's keys and revoke
 * one. Every action is audited with the operator's `sub`. Person data is validated with the
 * operator API's schema (src/identity/admin.ts `IdentityBody`).
 */
import { Hono } from 'hono';
import { renderSVG } from 'uqr';
import * as v from 'valibot';
import { IdentityBody } from '../identity/admin.ts';
import { activationCodeTtlSeconds, activationUrl, issueActivationCode } from '../identity/activation.ts';
import { recordAudit } from '../identity/audit.ts';
import { endSessionsOfDevice } from '../browser-session/api.ts';
import { getDevice, listDevices, revokeDevice } from '../identity/devices.ts';
import { createIdentity, getIdentity, type Identity } from '../identity/identities.ts';
import { logEvent } from '../lib/log.ts';
import { findPeople } from './people.ts';
import { Csrf, formatAt, messagePage, sendPage, type PageContext } from './pages.tsx';
import { need, sessionOf, type ConsoleCtx, type ConsoleEnv } from './routes.tsx';

export const counterRoutes = new Hono<ConsoleEnv>();
for (const path of ['/counter', '/people', '/people/*', '/devices/*']) counterRoutes.use(path, need('clerk'));

function fullName(identity: Identity): string {
  return [identity.claims.given_name, identity.claims.family_name].filter(Boolean).join(' ') || identity.sub;
}

function PersonForm({ page, values, error }: { page: PageContext; values: Record<string, string>; error?: string | undefined }) {
  const { t } = page;
  return (
    <form method="post" action="/console/people" class="card" id="create-person">
      <h2>{t.create}</h2>
      {error ? <p class="error" id="form-error">{`${t.invalid}: ${error}`}</p> : null}
      <Csrf session={page.session} />
      <label>{t.givenName}<input name="given_name" required maxLength={100} value={values.given_name ?? ''} /></label>
      <label>{t.familyName}<input name="family_name" required maxLength={100} value={values.family_name ?? ''} /></label>
      <label>{t.birthdate}<input name="birthdate" type="date" value={values.birthdate ?? ''} /></label>
      <label>{t.email}<input name="email" type="email" maxLength={254} value={values.email ?? ''} /></label>
      <button type="submit">{t.createAndIssue}</button>
    </form>
  );
}

counterRoutes.get('/counter', async (c) => {
  const page = c.get('page');
  const { t } = page;
  const query = { name: c.req.query('name') ?? '', birthdate: c.req.query('birthdate') ?? '', email: c.req.query('email') ?? '' };
  const searched = Object.values(query).some((value) => value.trim());
  const people = searched ? await findPeople(c.env.DB, query) : [];
  return sendPage(c, page, t.counter, (
    <>
      <h1>{t.counter}</h1>
      <form method="get" action="/console/counter" class="card" id="find-person">
        <h2>{t.find}</h2>
        <label>{t.name}<input name="name" value={query.name} maxLength={100} /></label>
        <label>{t.birthdate}<input name="birthdate" type="date" value={query.birthdate} /></label>
        <label>{t.email}<input name="email" type="email" value={query.email} maxLength={254} /></label>
        <button type="submit">{t.search}</button>
      </form>
      {searched ? (
        people.length ? (
          <ul class="results" id="results">
            {people.map((person) => (
              <li><a href={`/console/people/${person.sub}`}>{fullName(person)}</a> {person.claims.birthdate ?? ''} {person.claims.email ?? ''}</li>
            ))}
          </ul>
        ) : <p id="results">{t.noResults}</p>
      ) : null}
      <PersonForm page={page} values={{}} />
    </>
  ));
});

/** The slip the clerk prints and hands over: the code large, a QR of the activation link, its validity. */
function slip(c: ConsoleCtx, identity: Identity, issued: { code: string; expiresAt: number }): Response {
  const page = c.get('page');
  const { t } = page;
  const link = activationUrl(c.env.ISSUER, issued.code);
  return sendPage(c, page, t.slipTitle, (
    <section class="slip" id="slip">
      <h1>{t.slipTitle}</h1>
      <p class="slip-name">{fullName(identity)}</p>
      <p class="code" id="activation-code">{issued.code}</p>
      <div class="qr" id="activation-qr" dangerouslySetInnerHTML={{ __html: renderSVG(link, { border: 2 }) }} />
      <p>{t.slipHelp}</p>
      <p class="link">{link}</p>
      <p>{t.validUntil} <strong id="valid-until">{`${formatAt(issued.expiresAt)} UTC`}</strong></p>
      <p class="no-print">{t.print} <a href={`/console/people/${identity.sub}`}>{t.person}</a></p>
    </section>
  ));
}

counterRoutes.post('/people', async (c) => {
  const page = c.get('page');
  const form = c.get('form');
  const input: Record<string, string> = {};
  for (const name of ['given_name', 'family_name', 'birthdate', 'email'] as const) if (form[name]?.trim()) input[name] = form[name].trim();
  const parsed = v.safeParse(IdentityBody, input);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const field = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    return sendPage(c, page, page.t.create, <PersonForm page={page} values={input} error={field || issue.message} />, { status: 400 });
  }
  const operator = sessionOf(c)!.sub;
  const now = Date.now();
  const identity = await createIdentity(c.env.DB, parsed.output, now);
  await recordAudit(c.env.DB, { type: 'identity.created', sub: identity.sub, operator }, now);
  const issued = await issueActivationCode(c.env.DB, identity.sub, activationCodeTtlSeconds(c.env), now, operator);
  logEvent('console.identity-created', { outcome: 'ok', sub: identity.sub, operator });
  return slip(c, identity, issued);
});

counterRoutes.get('/people/:sub', async (c) => {
  const page = c.get('page');
  const { t } = page;
  const identity = await getIdentity(c.env.DB, c.req.param('sub'));
  if (!identity) return messagePage(c, page, 404, t.noResults);
  const devices = await listDevices(c.env.DB, identity.sub);
  return sendPage(c, page, fullName(identity), (
    <>
      <h1 id="person-name">{fullName(identity)}</h1>
      <dl class="card">
        <dt>sub</dt><dd><code>{identity.sub}</code></dd>
        <dt>{t.birthdate}</dt><dd>{identity.claims.birthdate ?? '—'}</dd>
        <dt>{t.email}</dt><dd>{identity.claims.email ?? '—'}</dd>
      </dl>
      <form method="post" action={`/console/people/${identity.sub}/codes`}>
        <Csrf session={page.session} />
        <button type="submit" id="issue-code">{t.issueCode}</button>
      </form>
      <h2>{t.keys}</h2>
      {devices.length ? (
        <table id="keys">
          <tbody>
            {devices.map((device) => (
              <tr>
                <td>{device.name}</td>
                <td class="platform">{[device.platform.browser, device.platform.os].filter(Boolean).join(', ') || '—'}</td>
                <td>{formatAt(device.createdAt)}</td>
                <td class={device.revokedAt ? 'revoked' : 'active'}>{device.revokedAt ? `${t.revoked} ${formatAt(device.revokedAt)}` : t.active}</td>
                <td>
                  {device.revokedAt ? null : (
                    <form method="post" action={`/console/devices/${device.id}/revoke`}>
                      <Csrf session={page.session} />
                      <button type="submit" class="danger">{t.revoke}</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p id="keys">{t.noKeys}</p>}
    </>
  ));
});

counterRoutes.post('/people/:sub/codes', async (c) => {
  const page = c.get('page');
  const identity = await getIdentity(c.env.DB, c.req.param('sub'));
  if (!identity) return messagePage(c, page, 404, page.t.noResults);
  const operator = sessionOf(c)!.sub;
  const issued = await issueActivationCode(c.env.DB, identity.sub, activationCodeTtlSeconds(c.env), Date.now(), operator);
  logEvent('console.activation-code-issued', { outcome: 'ok', sub: identity.sub, operator });
  return slip(c, identity, issued);
});

counterRoutes.post('/devices/:id/revoke', async (c) => {
  const page = c.get('page');
  const device = await getDevice(c.env.DB, c.req.param('id'));
  if (!device) return messagePage(c, page, 404, page.t.noResults);
  await revokeDevice(c.env.DB, device.id, undefined, Date.now(), sessionOf(c)!.sub);
  // As the operator API and the phone do: the browser sessions the key approved end, and their
  // services are told (back-channel logout). Also on a repeat: it is idempotent.
  await endSessionsOfDevice(c.env, device.id);
  return c.redirect(`/console/people/${device.sub}`, 303);
});
