/** The console's routes assembled, mounted at `/console` by src/index.ts. */
import { adminPages } from './admin.tsx';
import { counterRoutes } from './counter.tsx';
import { sendPage } from './pages.tsx';
import { consoleRoutes } from './routes.tsx';

consoleRoutes.get('/', (c) => {
  const page = c.get('page');
  if (page.session) return c.redirect('/console/counter', 303);
  return sendPage(c, page, page.t.title, (
    <section class="card login">
      <h1>{page.t.title}</h1>
      {page.ended || c.req.query('ended') !== undefined ? <p class="notice" id="session-ended">{page.t.idleEnded}</p> : null}
      <p>{page.t.loginIntro}</p>
      <a class="button" id="console-login" href="/console/login">{page.t.login}</a>
    </section>
  ));
});
consoleRoutes.route('/', counterRoutes);
consoleRoutes.route('/', adminPages);

export { consoleRoutes as consoleApp };
