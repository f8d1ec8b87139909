/**
 * The admin pages (role `admin`): relying services (list, register, edit name and redirect
 * URIs, rotate the secret, disable; validated with the operator API's `ClientBody`), the audit
 * with filters, and live figures of the last hour (refreshed by /static/console.js).
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { ClientBody, ClientRegistrationBody } from '../identity/admin.ts';
import { pairwiseSecret } from '../oidc/subject.ts';
import { listAudit, recordAudit, type AuditFilter } from '../identity/audit.ts';
import { registerClient } from '../oidc/clients.ts';
import { liveFigures, type Figures } from './figures.ts';
import { Csrf, formatAt, messagePage, sendPage, type PageContext } from './pages.tsx';
import { need, sessionOf, type ConsoleCtx, type ConsoleEnv } from './routes.tsx';
import { disableClient, findClient, listClients, rotateSecret, updateClient, type ManagedClient } from './services.ts';

export const adminPages = new Hono<ConsoleEnv>();
for (const path of ['/clients', '/clients/*', '/audit', '/figures', '/figures.json']) adminPages.use(path, need('admin'));

const EditBody = v.pick(ClientBody, ['name', 'redirect_uris']);

function uris(text: string | undefined): string[] {
  return (text ?? '').split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0]!;
  return issue.message;
}

function ClientForm({ page, action, client, error }: { page: PageContext; action: string; client?: ManagedClient; error?: string }) {
  const { t } = page;
  return (
    <form method="post" action={action} class="card" id={client ? 'edit-client' : 'register-client'}>
      <h2>{client ? client.name : t.register}</h2>
      {error ? <p class="error" id="form-error">{`${t.invalid}: ${error}`}</p> : null}
      <Csrf session={page.session} />
      <label>{t.clientName}<input name="name" required maxLength={100} value={client?.name ?? ''} /></label>
      <label>{t.redirectUris}<textarea name="redirect_uris" rows={3} required>{client?.redirectUris.join('\n') ?? ''}</textarea></label>
      {client ? null : <label class="check"><input type="checkbox" name="public" value="1" />{t.publicClient}</label>}
      {client ? null : <label class="check"><input type="checkbox" name="subject_type" value="pairwise" />{t.pairwiseClient}</label>}
      <button type="submit">{client ? t.save : t.register}</button>
    </form>
  );
}

function secretPage(c: ConsoleCtx, client: { clientId: string; name: string }, secret: string | undefined): Response {
  const page = c.get('page');
  return sendPage(c, page, client.name, (
    <section class="card">
      <h1>{client.name}</h1>
      <p>client_id: <code id="client-id">{client.clientId}</code></p>
      {secret ? <p>{page.t.secretOnce} <code id="client-secret">{secret}</code></p> : null}
      <p><a href="/console/clients">{page.t.clients}</a></p>
    </section>
  ));
}

adminPages.get('/clients', async (c) => {
  const page = c.get('page');
  const clients = await listClients(c.env.DB);
  return sendPage(c, page, page.t.clients, (
    <>
      <h1>{page.t.clients}</h1>
      <table id="clients">
        <tbody>
          {clients.map((client) => (
            <tr class={client.disabledAt ? 'disabled' : ''}>
              <td><a href={`/console/clients/${client.clientId}`}>{client.name}</a></td>
              <td><code>{client.clientId}</code></td>
              <td>{client.public ? 'public' : 'confidential'}</td>
              <td>{client.disabledAt ? page.t.disabled : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ClientForm page={page} action="/console/clients" />
    </>
  ));
});

adminPages.post('/clients', async (c) => {
  const page = c.get('page');
  const form = c.get('form');
  const parsed = v.safeParse(ClientRegistrationBody, {
    name: form.name ?? '', redirect_uris: uris(form.redirect_uris), public: form.public === '1', ...(form.subject_type === 'pairwise' ? { subject_type: 'pairwise' } : {}),
  });
  if (!parsed.success) return sendPage(c, page, page.t.register, <ClientForm page={page} action="/console/clients" error={firstIssue(parsed.issues)} />, { status: 400 });
  if (parsed.output.subject_type === 'pairwise' && !pairwiseSecret(c.env)) {
    return sendPage(c, page, page.t.register, <ClientForm page={page} action="/console/clients" error="PAIRWISE_SECRET is not configured" />, { status: 409 });
  }
  const { client, clientSecret } = await registerClient(c.env.DB, {
    name: parsed.output.name, redirectUris: parsed.output.redirect_uris, public: parsed.output.public, subjectType: parsed.output.subject_type ?? 'public',
  });
  await recordAudit(c.env.DB, { type: 'client.registered', clientId: client.clientId, operator: sessionOf(c)!.sub, detail: { name: client.name } });
  return secretPage(c, client, clientSecret);
});

adminPages.get('/clients/:id', async (c) => {
  const page = c.get('page');
  const client = await findClient(c.env.DB, c.req.param('id'));
  if (!client) return messagePage(c, page, 404, page.t.noResults);
  return sendPage(c, page, client.name, (
    <>
      <ClientForm page={page} action={`/console/clients/${client.clientId}`} client={client} />
      <p>client_id: <code>{client.clientId}</code> {client.disabledAt ? <strong id="client-state">{page.t.disabled}</strong> : null}</p>
      {client.public ? null : (
        <form method="post" action={`/console/clients/${client.clientId}/secret`}>
          <Csrf session={page.session} />
          <button type="submit" id="rotate-secret">{page.t.rotate}</button>
        </form>
      )}
      {client.disabledAt ? null : (
        <form method="post" action={`/console/clients/${client.clientId}/disable`}>
          <Csrf session={page.session} />
          <button type="submit" class="danger" id="disable-client">{page.t.disable}</button>
        </form>
      )}
    </>
  ));
});

adminPages.post('/clients/:id', async (c) => {
  const page = c.get('page');
  const form = c.get('form');
  const client = await findClient(c.env.DB, c.req.param('id'));
  if (!client) return messagePage(c, page, 404, page.t.noResults);
  const parsed = v.safeParse(EditBody, { name: form.name ?? '', redirect_uris: uris(form.redirect_uris) });
  if (!parsed.success) {
    return sendPage(c, page, client.name, <ClientForm page={page} action={`/console/clients/${client.clientId}`} client={client} error={firstIssue(parsed.issues)} />, { status: 400 });
  }
  await updateClient(c.env.DB, client.clientId, { name: parsed.output.name, redirectUris: parsed.output.redirect_uris });
  await recordAudit(c.env.DB, { type: 'client.updated', clientId: client.clientId, operator: sessionOf(c)!.sub });
  return c.redirect(`/console/clients/${client.clientId}`, 303);
});

adminPages.post('/clients/:id/secret', async (c) => {
  const page = c.get('page');
  const client = await findClient(c.env.DB, c.req.param('id'));
  const secret = client ? await rotateSecret(c.env.DB, client.clientId) : null;
  if (!client || !secret) return messagePage(c, page, 404, page.t.noResults);
  await recordAudit(c.env.DB, { type: 'client.secret-rotated', clientId: client.clientId, operator: sessionOf(c)!.sub });
  return secretPage(c, client, secret);
});

adminPages.post('/clients/:id/disable', async (c) => {
  const page = c.get('page');
  const id = c.req.param('id');
  if (!(await disableClient(c.env.DB, id))) return messagePage(c, page, 404, page.t.noResults);
  await recordAudit(c.env.DB, { type: 'client.disabled', clientId: id, operator: sessionOf(c)!.sub });
  return c.redirect(`/console/clients/${id}`, 303);
});

/** A `datetime-local` value (taken as UTC) in epoch milliseconds, or undefined. */
function time(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(`${value}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

adminPages.get('/audit', async (c) => {
  const page = c.get('page');
  const { t } = page;
  const q = (name: string) => c.req.query(name)?.trim().slice(0, 200) || undefined;
  const filter: AuditFilter = { limit: 200 };
  const sub = q('sub'), clientId = q('client_id'), operator = q('operator'), type = q('type');
  if (sub) filter.sub = sub;
  if (clientId) filter.clientId = clientId;
  if (operator) filter.operator = operator;
  if (type) filter.type = type;
  const from = time(q('from')), to = time(q('to'));
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  const events = await listAudit(c.env.DB, filter);
  return sendPage(c, page, t.audit, (
    <>
      <h1>{t.audit}</h1>
      <form method="get" action="/console/audit" class="card filters" id="audit-filter">
        <label>{t.identity}<input name="sub" value={sub ?? ''} /></label>
        <label>{t.client}<input name="client_id" value={clientId ?? ''} /></label>
        <label>{t.operator}<input name="operator" value={operator ?? ''} /></label>
        <label>{t.kind}<input name="type" value={type ?? ''} list="kinds" /></label>
        <datalist id="kinds">
          {['identity.created', 'activation-code.issued', 'enrolment', 'device.revoked', 'login.started', 'login.approved', 'login.denied', 'login.expired', 'client.registered', 'client.updated', 'client.secret-rotated', 'client.disabled'].map((k) => <option value={k} />)}
        </datalist>
        <label>{`${t.from} (UTC)`}<input name="from" type="datetime-local" value={q('from') ?? ''} /></label>
        <label>{`${t.to} (UTC)`}<input name="to" type="datetime-local" value={q('to') ?? ''} /></label>
        <button type="submit">{t.filter}</button>
      </form>
      <table id="audit">
        <thead><tr><th>{t.at}</th><th>{t.kind}</th><th>{t.identity}</th><th>{t.client}</th><th>{t.operator}</th></tr></thead>
        <tbody>
          {events.map((e) => (
            <tr><td>{formatAt(e.at)}</td><td class="kind">{e.type}</td><td>{e.sub ?? ''}</td><td>{e.clientId ?? ''}</td><td>{e.operator ?? ''}</td></tr>
          ))}
        </tbody>
      </table>
    </>
  ));
});

function figuresJson(figures: Figures) {
  return {
    started: figures.started,
    approved: figures.approved,
    denied: figures.denied,
    expired: figures.expired,
    median_approval_ms: figures.medianApprovalMs,
    from: figures.from,
    to: figures.to,
  };
}

adminPages.get('/figures.json', async (c) => c.json(figuresJson(await liveFigures(c.env.DB)), 200, { 'Cache-Control': 'no-store' }));

adminPages.get('/figures', async (c) => {
  const page = c.get('page');
  const { t } = page;
  const figures = await liveFigures(c.env.DB);
  const cells: [string, string, string][] = [
    ['started', t.started, String(figures.started)],
    ['approved', t.approved, String(figures.approved)],
    ['denied', t.denied, String(figures.denied)],
    ['expired', t.expired, String(figures.expired)],
    ['median_approval_ms', t.median, figures.medianApprovalMs === null ? '—' : t.seconds(figures.medianApprovalMs / 1000)],
  ];
  return sendPage(c, page, t.figures, (
    <>
      <h1>{`${t.figures}: ${t.lastHour}`}</h1>
      <dl class="figures" id="figures" data-source="/console/figures.json" data-unit={page.locale === 'cs' ? 's' : 's'}>
        {cells.map(([key, label, value]) => (
          <div class="figure"><dt>{label}</dt><dd data-figure={key}>{value}</dd></div>
        ))}
      </dl>
      <p class="updated">{`${formatAt(figures.to)} UTC`}</p>
    </>
  ), { script: true });
});
