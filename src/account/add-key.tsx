/**
 * `GET /account/keys/add`: where the person pairs a new key from the account (issue 12's
 * "Add a key": a pairing QR with a 4-minute countdown). Built on another branch; until then
 * this page says how to get a key today.
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
      <p>{page.t.addKeySoon}</p>
      <a href="/account">{page.t.cancel}</a>
    </section>
  ));
});
