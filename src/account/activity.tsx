/**
 * The account's login history (`GET /account/history`, paged with `?before=<id>`) and consents
 * (`GET /account/consents`, withdrawn with `POST /account/consents/:client_id/withdraw`).
 * Retention of the history: one year (src/identity/history.ts).
 */
import { Hono } from 'hono';
import { claimLabel } from '../../client/app/lib/claims.ts';
import { listConsents, withdrawConsent } from '../identity/consents.ts';
import { listHistory } from '../identity/history.ts';
import { doneNotice } from './keys.tsx';
import { Csrf, formatAt, formatBrowser, formatPlace, messagePage, sendPage } from './pages.tsx';
import { needsFreshApproval, type AccountEnv } from './routes.tsx';

const PAGE_SIZE = 20;
/** Client ids as registered (`client_…`, `demo`, …): a bounded, plain token. */
const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;

export const activityRoutes = new Hono<AccountEnv>();

activityRoutes.get('/history', async (c) => {
  const page = c.get('page');
  const { t, locale } = page;
  if (!page.session) return c.redirect('/account', 303);
  const before = c.req.query('before');
  if (before !== undefined && !/^[1-9]\d{0,14}$/.test(before)) return messagePage(c, page, 400, t.badInput);
  const { entries, next } = await listHistory(c.env.DB, page.session.sub, { limit: PAGE_SIZE, ...(before ? { before: Number(before) } : {}) });
  return sendPage(c, page, t.history, (
    <section class="card">
      <h1>{t.history}</h1>
      <p>{t.historyIntro}</p>
      {entries.length === 0 ? <p id="no-history">{t.noHistory}</p> : (
        <table id="history">
          <thead><tr><th>{t.at}</th><th>{t.service}</th><th>{t.outcome}</th><th>{t.key}</th><th>{t.browser}</th><th>{t.place}</th></tr></thead>
          <tbody>
            {entries.map((e) => (
              <tr data-outcome={e.outcome} data-client={e.clientId}>
                <td data-label={t.at}>{formatAt(e.at, locale)}</td>
                <td data-label={t.service} class="service">{e.clientName}</td>
                <td data-label={t.outcome} class="outcome">
                  {e.outcome === 'approved' ? t.approved : t.denied}
                  {e.method === 'sso' ? <div class="method">{t.sso}</div> : null}
                </td>
                <td data-label={t.key} class="key">{e.deviceName ?? t.unknown}</td>
                <td data-label={t.browser} class="browser">{formatBrowser(e.requester, t) ?? t.unknown}</td>
                <td data-label={t.place} class="place">{formatPlace(e.requester) ?? t.unknown}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="paging">
        {before ? <a href="/account/history" id="newest">{t.newest}</a> : null}{' '}
        {next ? <a href={`/account/history?before=${next}`} id="older">{t.older}</a> : null}
      </p>
    </section>
  ));
});

activityRoutes.get('/consents', async (c) => {
  const page = c.get('page');
  const { t, locale } = page;
  if (!page.session) return c.redirect('/account', 303);
  const consents = await listConsents(c.env.DB, page.session.sub);
  return sendPage(c, page, t.consents, (
    <>
      {doneNotice(page, c.req.query('done'))}
      <section class="card">
        <h1>{t.consents}</h1>
        <p>{t.consentsIntro}</p>
        {consents.length === 0 ? <p id="no-consents">{t.noConsents}</p> : (
          <table id="consents">
            <thead><tr><th>{t.service}</th><th>{t.claims}</th><th>{t.kind}</th><th>{t.given}</th><th></th></tr></thead>
            <tbody>
              {consents.map((k) => (
                <tr data-client={k.clientId} data-kind={k.kind}>
                  <td data-label={t.service} class="service">{k.clientName ?? k.clientId}</td>
                  <td data-label={t.claims} class="claims">{k.claims.length ? k.claims.map((name) => claimLabel(name, locale)).join(', ') : t.onlySub}</td>
                  <td data-label={t.kind} class="kind">{k.kind === 'always' ? t.always : t.once}</td>
                  <td data-label={t.given}>{formatAt(k.grantedAt, locale)}</td>
                  <td>
                    <form method="post" action={`/account/consents/${encodeURIComponent(k.clientId)}/withdraw`}>
                      <Csrf page={page} />
                      <button type="submit" class="danger">{t.withdraw}</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  ));
});

activityRoutes.post('/consents/:client/withdraw', async (c) => {
  const page = c.get('page');
  const stale = needsFreshApproval(c);
  if (stale) return stale;
  const clientId = c.req.param('client');
  if (!CLIENT_ID.test(clientId) || !(await withdrawConsent(c.env.DB, page.session!.sub, clientId))) return messagePage(c, page, 404, page.t.notFound);
  return c.redirect('/account/consents?done=withdrawn', 303);
});
