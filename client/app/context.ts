import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { Locale, MessageKey } from './lib/i18n.ts';
import type { Route } from './lib/route.ts';

/** What every screen gets from the app. */
export interface AppServices {
  locale: Locale;
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
  navigate: (route: Route) => void;
  /** Says a result through the polite live region. */
  announce: (text: string) => void;
  /** True after a navigation: the new screen moves focus to its heading. */
  focusOnMount: boolean;
}

export const AppContext = createContext<AppServices>(null as unknown as AppServices);

export function useApp(): AppServices {
  return useContext(AppContext);
}

/**
 * A ref for a screen's heading (`tabIndex={-1}`) that takes focus when `key` changes, and on
 * mount after a navigation, so keyboard and screen reader users land on the new content.
 */
export function useHeadingFocus<T extends HTMLElement>(key: unknown) {
  const ref = useRef<T>(null);
  const { focusOnMount } = useApp();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      if (!focusOnMount) return;
    }
    ref.current?.focus();
  }, [key]);
  return ref;
}
