/**
 * `GET /account/keys/add`: where the person pairs a new key from the account (issue 12's
 * "Add a key"): says how pairing works and leads to the mobile key web app's `/key/pair`, which
 * starts the pairing from this browser's session (approved within 5 minutes) or from a key on
 * this device and shows the QR with its 4-minute countdown (docs/pairing.md).
 */
import { Hono } from 'hono';
import { sendPage } from './pages.tsx';
import type { AccountEnv } from './routes.tsx';

export const addKeyRoutes = new Hono<AccountEnv>();

addKeyRoutes.get('/keys/add', (c) => {
  const page = c.get('page');
  if (!page.session) return c.redirect('/account', 303);
  return sendPage(c, page, page.t.addKey, (
    <section class="card" id="add-key">
      <h1>{page.t.addKey}</h1>
      <p>{page.t.addKeyHow}</p>
      <p><a class="button" href="/key/pair" id="add-key-start">{page.t.addKeyStart}</a></p>
      <a href="/account">{page.t.cancel}</a>
    </section>
  ));
});
