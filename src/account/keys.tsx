/**
 * The account's keys page (`GET /account`) and its changes: rename (`POST
 * /account/keys/:id/rename`) and disconnect (`POST /account/keys/:id/disconnect`). A key of
 * another identity is 404, exactly like an unknown one. Disconnecting revokes the key as the
 * operator and the key itself do (src/identity/devices.ts `revokeDevice`, audited) and ends the
 * browser sessions it approved; the last active key needs an explicit confirmation.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import { currentWithId, endSessionsOfDevice } from '../browser-session/api.ts';
import { displayName } from '../http/names.ts';
import { getDevice, listDevices, renameDevice, revokeDevice, type Device } from '../identity/devices.ts';
import { lastPlaces } from '../identity/history.ts';
import { Csrf, formatAt, formatBrowser, formatPlace, messagePage, sendPage, type AccountPage } from './pages.tsx';
import { endAccountSession, needsFreshApproval, type AccountCtx, type AccountEnv } from './routes.tsx';

/** Longest key name, as at enrolment (src/mobile/routes.ts). */
const NAME = v.object({ name: displayName('name', 64) });
/** Device ids are `dev_` and base64url; anything else is unknown without asking D1. */
const DEVICE_ID = /^dev_[A-Za-z0-9_-]{1,64}$/;

/** Results shown once after a change (`?done=`), fixed texts only: nothing from the URL is echoed. */
const DONE = ['renamed', 'disconnected', 'withdrawn'] as const;
type Done = (typeof DONE)[number];

/** The fixed notice of a `?done=` value, or null. */
export function doneNotice(page: AccountPage, value: string | undefined) {
  const done = DONE.find((d) => d === value) as Done | undefined;
  return done ? <p class="notice" id="notice" role="status">{page.t.done[done]}</p> : null;
}

export const keyRoutes = new Hono<AccountEnv>();

keyRoutes.get('/', async (c) => {
  const page = c.get('page');
  const { t } = page;
  if (!page.session) {
    const notice = c.req.query('bye') === 'disconnected' ? <p class="notice" id="notice">{t.loggedOutByDisconnect}</p> : null;
    return sendPage(c, page, t.title, (
      <section class="card login">
        <h1>{t.title}</h1>
        {notice}
        <p>{t.intro}</p>
        <a class="button" id="account-login" href="/account/login">{t.login}</a>
      </section>
    ));
  }
  const sub = page.session.sub;
  const [devices, places, current] = await Promise.all([listDevices(c.env.DB, sub), lastPlaces(c.env.DB, sub), currentWithId(c as unknown as Context<{ Bindings: Env }>)]);
  const thisKey = current?.view.sub === sub ? current.view.deviceId : undefined;
  const shown = devices.filter((d) => d.revokedAt === null).concat(devices.filter((d) => d.revokedAt !== null));
  return sendPage(c, page, t.keys, (
    <>
      {doneNotice(page, c.req.query('done'))}
      <section class="card">
        <h1>{t.keys}</h1>
        <table id="keys">
          <thead><tr><th>{t.keyName}</th><th>{t.platform}</th><th>{t.added}</th><th>{t.lastUsed}</th><th>{t.status}</th><th></th></tr></thead>
          <tbody>
            {shown.map((d) => <KeyRow page={page} device={d} place={formatPlace(places.get(d.id) ?? {})} current={d.id === thisKey} />)}
          </tbody>
        </table>
      </section>
      {/* Pairing a new key from the account: /account/keys/add leads to the web app's /key/pair. */}
      <section class="card" id="add-key">
        <h2>{t.addKey}</h2>
        <p>{t.addKeyIntro}</p>
        <a class="button" href="/account/keys/add" id="add-key-link">{t.addKey}</a>
      </section>
    </>
  ));
});

function KeyRow({ page, device, place, current }: { page: AccountPage; device: Device; place: string | null; current: boolean }) {
  const { t, locale } = page;
  const active = device.revokedAt === null;
  return (
    <tr data-device={device.id} class={active ? '' : 'revoked'}>
      <td data-label={t.keyName}>
        <strong class="key-name">{device.name}</strong>
        {current ? <div class="this-key">{t.thisKey}</div> : null}
      </td>
      <td data-label={t.platform} class="platform">{formatBrowser(device.platform, t) ?? t.unknownPlatform}</td>
      <td data-label={t.added}>{formatAt(device.createdAt, locale)}</td>
      <td data-label={t.lastUsed} class="last-used">
        {device.lastUsedAt === null ? t.never : formatAt(device.lastUsedAt, locale)}
        {place && device.lastUsedAt !== null ? <div class="place">{place}</div> : null}
      </td>
      <td data-label={t.status} class="status">{active ? t.active : t.revoked}</td>
      <td class="actions">
        {active ? (
          <>
            <form method="post" action={`/account/keys/${device.id}/rename`} class="rename">
              <Csrf page={page} />
              <label>
                {t.newName}
                <input name="name" required maxLength={64} value={device.name} />
              </label>
              <button type="submit">{t.rename}</button>
            </form>
            <form method="post" action={`/account/keys/${device.id}/disconnect`} class="disconnect">
              <Csrf page={page} />
              <button type="submit" class="danger">{t.disconnect}</button>
            </form>
          </>
        ) : null}
      </td>
    </tr>
  );
}

/** The person's own device named by the path, or null (unknown, malformed, another identity's). */
async function ownDevice(c: AccountCtx): Promise<Device | null> {
  const id = c.req.param('id') ?? '';
  if (!DEVICE_ID.test(id)) return null;
  const device = await getDevice(c.env.DB, id);
  return device && device.sub === c.get('page').session!.sub ? device : null;
}

keyRoutes.post('/keys/:id/rename', async (c) => {
  const page = c.get('page');
  const stale = needsFreshApproval(c);
  if (stale) return stale;
  const device = await ownDevice(c);
  if (!device) return messagePage(c, page, 404, page.t.notFound);
  const parsed = v.safeParse(NAME, { name: c.get('form').name });
  if (!parsed.success) return messagePage(c, page, 400, page.t.renameInvalid);
  if (!(await renameDevice(c.env.DB, page.session!.sub, device.id, parsed.output.name))) return messagePage(c, page, 409, page.t.renameRevoked);
  return c.redirect('/account?done=renamed', 303);
});

keyRoutes.post('/keys/:id/disconnect', async (c) => {
  const page = c.get('page');
  const { t } = page;
  const stale = needsFreshApproval(c);
  if (stale) return stale;
  const device = await ownDevice(c);
  if (!device) return messagePage(c, page, 404, t.notFound);
  if (device.revokedAt === null && c.get('form').confirm !== 'last') {
    const others = (await listDevices(c.env.DB, device.sub)).filter((d) => d.revokedAt === null && d.id !== device.id);
    if (others.length === 0) {
      return sendPage(c, page, t.lastKeyTitle, (
        <section class="card" id="last-key">
          <h1>{t.lastKeyTitle}</h1>
          <p class="error">{t.lastKeyWarning}</p>
          <form method="post" action={`/account/keys/${device.id}/disconnect`}>
            <Csrf page={page} />
            <input type="hidden" name="confirm" value="last" />
            <button type="submit" class="danger" id="confirm-disconnect">{t.confirmDisconnect}</button>{' '}
            <a href="/account">{t.cancel}</a>
          </form>
        </section>
      ));
    }
  }
  const current = await currentWithId(c as unknown as Context<{ Bindings: Env }>);
  await revokeDevice(c.env.DB, device.id, { by: 'account' });
  // Also on a repeat: ending the sessions it approved is idempotent and may have failed before.
  await endSessionsOfDevice(c.env, device.id);
  if (current?.view.deviceId === device.id) {
    await endAccountSession(c);
    return c.redirect('/account?bye=disconnected', 303);
  }
  return c.redirect('/account?done=disconnected', 303);
});
