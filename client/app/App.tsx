import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { Enrol } from './screens/Enrol.tsx';
import { Home } from './screens/Home.tsx';
import { Login } from './screens/Login.tsx';
import { Scan } from './screens/Scan.tsx';
import { PairJoin } from './screens/PairJoin.tsx';
import { PairStart } from './screens/PairStart.tsx';
import { AppContext, type AppServices } from './context.ts';
import { pickLocale, t, type Locale } from './lib/i18n.ts';
import { pathForRoute, routeFromLocation, type Route } from './lib/route.ts';

const LOCALE_KEY = 'mobile-key.locale';

function savedLocale(): string | null {
  try {
    return localStorage.getItem(LOCALE_KEY);
  } catch {
    return null;
  }
}

/** The app: routing between screens, language, and the live region for announcements. */
export function App() {
  const [locale, setLocale] = useState<Locale>(() => pickLocale(savedLocale(), navigator.languages ?? []));
  const [route, setRoute] = useState<Route>(() => routeFromLocation(location));
  // Focus moves to a screen's heading only after navigation, not on the first load.
  const [navigations, setNavigations] = useState(0);
  const [announcement, setAnnouncement] = useState('');

  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = t(locale, 'appName');
  }, [locale]);

  useEffect(() => {
    // An activation code is a week-long secret: keep it out of the history once read.
    if (route.screen === 'enrol' && location.hash) history.replaceState(null, '', pathForRoute(route));
    const onChange = () => {
      setRoute(routeFromLocation(location));
      setNavigations((n) => n + 1);
    };
    addEventListener('popstate', onChange);
    addEventListener('hashchange', onChange);
    return () => {
      removeEventListener('popstate', onChange);
      removeEventListener('hashchange', onChange);
    };
  }, []);

  const navigate = useCallback((next: Route) => {
    history.pushState(null, '', pathForRoute(next));
    setAnnouncement('');
    setRoute(next);
    setNavigations((n) => n + 1);
  }, []);

  const switchLocale = () => {
    const next: Locale = locale === 'cs' ? 'en' : 'cs';
    try {
      localStorage.setItem(LOCALE_KEY, next);
    } catch {
      // private mode: the switch still works for this page
    }
    setLocale(next);
  };

  const services = useMemo<AppServices>(
    () => ({
      locale,
      t: (key, params) => t(locale, key, params),
      navigate,
      announce: setAnnouncement,
      focusOnMount: navigations > 0,
    }),
    [locale, navigate, navigations],
  );

  const screenKey = `${route.screen}:${route.screen === 'login' ? route.loginId : route.screen === 'pair-join' ? route.pairingId : ''}:${navigations}`;
  return (
    <AppContext.Provider value={services}>
      <header class="bar">
        <a
          class="brand"
          href="/key/"
          onClick={(event) => {
            event.preventDefault();
            navigate({ screen: 'home' });
          }}
        >
          <img src="/static/icons/key.svg" alt="" width={28} height={28} />
          <span>{t(locale, 'appName')}</span>
        </a>
        <button
          type="button"
          class="lang"
          lang={locale === 'cs' ? 'en' : 'cs'}
          aria-label={t(locale, 'languageSwitchLabel')}
          data-action="switch-language"
          onClick={switchLocale}
        >
          {t(locale, 'languageSwitch')}
        </button>
      </header>
      {route.screen === 'home' && <Home key={screenKey} />}
      {route.screen === 'enrol' && <Enrol key={screenKey} initialCode={route.code} />}
      {route.screen === 'scan' && <Scan key={screenKey} invalidLink={route.invalidLink} />}
      {route.screen === 'pair-start' && <PairStart key={screenKey} />}
      {route.screen === 'pair-join' && <PairJoin key={screenKey} pairingId={route.pairingId} secret={route.secret} />}
      {route.screen === 'pair-invalid' && (
        <main class="screen" data-screen="pair-invalid">
          <p class="notice error" role="alert">
            {t(locale, 'pairInvalid')}
          </p>
        </main>
      )}
      {route.screen === 'login' && (
        <Login key={screenKey} loginId={route.loginId} frame={route.frame} origin={route.origin} />
      )}
      <div class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-live-region="">
        {announcement}
      </div>
    </AppContext.Provider>
  );
}
