/**
 * The admin pages (role `admin`): relying services (list, register, edit name, redirect URIs,
 * logout URIs and the ID token alg, rotate the secret, disable; validated with the operator
 * API's `ClientBody` / `ClientUpdateBody`), the audit with filters, and live figures of the last
 * hour (refreshed by /static/console.js).
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { ClientRegistrationBody, ClientUpdateBody } from '../identity/admin.ts';
import { pairwiseSecret } from '../oidc/subject.ts';
import { listAudit, recordAudit, type AuditFilter } from '../identity/audit.ts';
import { registerClient, SectorError, updateClient } from '../oidc/clients.ts';
import { signingAlgs } from '../oidc/keys.ts';
import { liveFigures, type Figures } from './figures.ts';
import { Csrf, formatAt, messagePage, sendPage, type PageContext } from './pages.tsx';
import { need, sessionOf, type ConsoleCtx, type ConsoleEnv } from './routes.tsx';
import { disableClient, findClient, listClients, rotateSecret, type ManagedClient } from './services.ts';

export const adminPages = new Hono<ConsoleEnv>();
for (const path of ['/clients', '/clients/*', '/audit', '/figures', '/figures.json']) adminPages.use(path, need('admin'));

function uris(text: string | undefined): string[] {
  return (text ?? '').split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0]!;
  return issue.message;
}

/** What the form shows: a stored client, or what the operator just sent. */
interface Draft {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string;
  frontchannelLogoutUri: string;
  idTokenAlg: string;
  requireNumberMatching: boolean;
  /** Registration only: allow the `refresh_token` grant (offline_access). */
  refreshTokens: boolean;
  /** Registration only: `subject_type` pairwise (OIDC Core §8.1). */
  pairwise: boolean;
}

function draftOf(client: ManagedClient): Draft {
  return {
    name: client.name,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    backchannelLogoutUri: client.backchannelLogoutUri ?? '',
    frontchannelLogoutUri: client.frontchannelLogoutUri ?? '',
    idTokenAlg: client.idTokenAlg,
    requireNumberMatching: client.requireNumberMatching,
    refreshTokens: false,
    pairwise: false,
  };
}

function draftFrom(form: Record<string, string>): Draft {
  return {
    name: form.name ?? '',
    redirectUris: uris(form.redirect_uris),
    postLogoutRedirectUris: uris(form.post_logout_redirect_uris),
    backchannelLogoutUri: (form.backchannel_logout_uri ?? '').trim(),
    frontchannelLogoutUri: (form.frontchannel_logout_uri ?? '').trim(),
    idTokenAlg: form.id_token_alg ?? '',
    requireNumberMatching: form.require_number_matching === '1',
    refreshTokens: form.refresh_token === '1',
    pairwise: form.subject_type === 'pairwise',
  };
}

/**
 * A draft as the operator API's body. An empty logout URI is left out on registration and is
 * `null` (cleared) on an edit; both then go through the API's own valibot schema.
 */
function bodyOf(draft: Draft, edit: boolean): Record<string, unknown> {
  const uri = (value: string) => (value ? value : edit ? null : undefined);
  const body: Record<string, unknown> = {
    name: draft.name,
    redirect_uris: draft.redirectUris,
    post_logout_redirect_uris: draft.postLogoutRedirectUris,
    backchannel_logout_uri: uri(draft.backchannelLogoutUri),
    frontchannel_logout_uri: uri(draft.frontchannelLogoutUri),
    ...(draft.idTokenAlg ? { id_token_alg: draft.idTokenAlg } : {}),
    require_number_matching: draft.requireNumberMatching,
    ...(edit
      ? {}
      : { grant_types: draft.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'], ...(draft.pairwise ? { subject_type: 'pairwise' } : {}) }),
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

function ClientForm({ page, action, client, draft, algs, error }: {
  page: PageContext; action: string; client?: ManagedClient; draft?: Draft; algs: string[]; error?: string;
}) {
  const { t } = page;
  const d = draft ?? (client ? draftOf(client) : undefined);
  const options = [...new Set([...algs, ...(d?.idTokenAlg ? [d.idTokenAlg] : [])])];
  return (
    <form method="post" action={action} class="card" id={client ? 'edit-client' : 'register-client'}>
      <h2>{client ? client.name : t.register}</h2>
      {error ? <p class="error" id="form-error">{`${t.invalid}: ${error}`}</p> : null}
      <Csrf session={page.session} />
      <label>{t.clientName}<input name="name" required maxLength={100} value={d?.name ?? ''} /></label>
      <label>{t.redirectUris}<textarea name="redirect_uris" rows={3} required>{d?.redirectUris.join('\n') ?? ''}</textarea></label>
      {client ? null : <label class="check"><input type="checkbox" name="public" value="1" />{t.publicClient}</label>}
      {client ? null : <label class="check"><input type="checkbox" name="subject_type" value="pairwise" checked={d?.pairwise ?? false} />{t.pairwiseClient}</label>}
      {client ? null : <label class="check"><input type="checkbox" name="refresh_token" value="1" checked={d?.refreshTokens ?? false} />{t.refreshTokens}</label>}
      <label class="check"><input type="checkbox" name="require_number_matching" value="1" checked={d?.requireNumberMatching ?? false} />{t.numberMatching}</label>
      <label>{t.idTokenAlg}
        <select name="id_token_alg">
          {options.map((alg) => <option value={alg} selected={alg === (d?.idTokenAlg || 'RS256')}>{alg}</option>)}
        </select>
      </label>
      <label>{t.postLogoutUris}<textarea name="post_logout_redirect_uris" rows={2}>{d?.postLogoutRedirectUris.join('\n') ?? ''}</textarea></label>
      <label>{t.backchannelUri}<input name="backchannel_logout_uri" type="url" maxLength={2000} value={d?.backchannelLogoutUri ?? ''} /></label>
      <label class="check"><input type="checkbox" checked disabled />{t.sessionRequired}</label>
      <label>{t.frontchannelUri}<input name="frontchannel_logout_uri" type="url" maxLength={2000} value={d?.frontchannelLogoutUri ?? ''} /></label>
      <label class="check"><input type="checkbox" checked disabled />{t.sessionRequired}</label>
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
      <ClientForm page={page} action="/console/clients" algs={signingAlgs(c.env)} />
    </>
  ));
});

adminPages.post('/clients', async (c) => {
  const page = c.get('page');
  const form = c.get('form');
  const draft = draftFrom(form);
  const parsed = v.safeParse(ClientRegistrationBody, { ...bodyOf(draft, false), public: form.public === '1' });
  const formAgain = (error: string, status: 400 | 409) =>
    sendPage(c, page, page.t.register, <ClientForm page={page} action="/console/clients" draft={draft} algs={signingAlgs(c.env)} error={error} />, { status });
  if (!parsed.success) return formAgain(firstIssue(parsed.issues), 400);
  const body = parsed.output;
  if (body.subject_type === 'pairwise' && !pairwiseSecret(c.env)) return formAgain('PAIRWISE_SECRET is not configured', 409);
  const { client, clientSecret } = await registerClient(c.env.DB, {
    name: body.name,
    redirectUris: body.redirect_uris,
    public: body.public,
    ...(body.id_token_alg ? { idTokenAlg: body.id_token_alg } : {}),
    ...(body.post_logout_redirect_uris ? { postLogoutRedirectUris: body.post_logout_redirect_uris } : {}),
    ...(body.backchannel_logout_uri ? { backchannelLogoutUri: body.backchannel_logout_uri } : {}),
    ...(body.frontchannel_logout_uri ? { frontchannelLogoutUri: body.frontchannel_logout_uri } : {}),
    ...(body.grant_types ? { grantTypes: body.grant_types } : {}),
    subjectType: body.subject_type ?? 'public',
    requireNumberMatching: body.require_number_matching === true,
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
      {client.disabledAt ? null : <ClientForm page={page} action={`/console/clients/${client.clientId}`} client={client} algs={signingAlgs(c.env)} />}
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
  const draft = draftFrom(form);
  // Every field is sent, so none is optional here: the API's schema checks each value.
  const parsed = v.safeParse(ClientUpdateBody, bodyOf(draft, true));
  if (!parsed.success || parsed.output.name === undefined || parsed.output.redirect_uris === undefined) {
    const error = parsed.success ? 'name and redirect URIs are required' : firstIssue(parsed.issues);
    return sendPage(c, page, client.name, <ClientForm page={page} action={`/console/clients/${client.clientId}`} client={client} draft={draft} algs={signingAlgs(c.env)} error={error} />, { status: 400 });
  }
  const body = parsed.output;
  let updated;
  try {
    updated = await updateClient(c.env.DB, client.clientId, {
      name: body.name!,
      redirectUris: body.redirect_uris!,
      ...(body.id_token_alg ? { idTokenAlg: body.id_token_alg } : {}),
      postLogoutRedirectUris: body.post_logout_redirect_uris ?? [],
      backchannelLogoutUri: body.backchannel_logout_uri ?? null,
      frontchannelLogoutUri: body.frontchannel_logout_uri ?? null,
      requireNumberMatching: body.require_number_matching === true,
    });
  } catch (error) {
    if (!(error instanceof SectorError)) throw error;
    const message = 'the redirect URIs of a pairwise service stay on the host of its sector identifier';
    return sendPage(c, page, client.name, <ClientForm page={page} action={`/console/clients/${client.clientId}`} client={client} draft={draft} algs={signingAlgs(c.env)} error={message} />, { status: 400 });
  }
  // A disabled service is not edited (updateClient only sees enabled ones).
  if (!updated) return messagePage(c, page, 409, page.t.disabled);
  await recordAudit(c.env.DB, { type: 'client.updated', clientId: client.clientId, operator: sessionOf(c)!.sub, detail: { fields: Object.keys(body).sort() } });
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
