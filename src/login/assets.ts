/**
 * The hosted pages' built files: the login script's hashed name and the page CSS, which every
 * hosted page inlines (first paint in one request) under a CSP hash. vite.config.ts writes them
 * to `static/login-assets.json`; the Worker reads it from its static assets once per isolate
 * (the files are immutable for the life of a deployment). Without a build (or when the read
 * fails) the pages fall back to the fixed names below, linked rather than inlined.
 */

/** What a hosted page loads besides its HTML. */
export interface PageAssets {
  /** Path of the login page's module script. */
  script: string;
  /** The page CSS to inline in `<style>`, or null to link {@link PageAssets.cssFile} instead. */
  css: string | null;
  /** Path of the CSS file (linked when there is no inline CSS). */
  cssFile: string;
  /** CSP hash source of {@link PageAssets.css} (`'sha256-…'`, CSP3 §8.4), or null. */
  styleHash: string | null;
  /** The page icon's URL (a `data:` URL from the build, else the public file). */
  icon: string;
}

const FALLBACK: PageAssets = { script: '/static/login.js', css: null, cssFile: '/static/login.css', styleHash: null, icon: '/static/favicon.svg' };
const MANIFEST_PATH = '/static/login-assets.json';
const STATIC = /^\/static\/[\w.-]+$/;

let loading: Promise<PageAssets> | undefined;
let loaded: PageAssets | undefined;

/**
 * Reads the page assets once per isolate (later calls return the same promise). Never throws:
 * a missing or malformed manifest gives the fallback for this request, and a later request
 * tries again.
 */
export function loadPageAssets(env: Pick<Env, 'ASSETS'>): Promise<PageAssets> {
  loading ??= read(env).then((assets) => {
    if (assets === FALLBACK) loading = undefined;
    else loaded = assets;
    return assets;
  });
  return loading;
}

/** The page assets once {@link loadPageAssets} has finished, else the fallback names. */
export function pageAssets(): PageAssets {
  return loaded ?? FALLBACK;
}

/**
 * Forgets what {@link loadPageAssets} read, as a fresh isolate would not know it (tests: the
 * worker project shares one isolate across its files, test/worker/apply-migrations.ts).
 */
export function forgetPageAssets(): void {
  loading = undefined;
  loaded = undefined;
}

async function read(env: Pick<Env, 'ASSETS'>): Promise<PageAssets> {
  try {
    const response = await env.ASSETS.fetch(new Request(`https://assets.invalid${MANIFEST_PATH}`));
    if (!response.ok) {
      await response.body?.cancel();
      return FALLBACK;
    }
    const manifest = (await response.json()) as { script?: unknown; css?: unknown; cssFile?: unknown; icon?: unknown };
    if (typeof manifest.script !== 'string' || !STATIC.test(manifest.script)) return FALLBACK;
    const cssFile = typeof manifest.cssFile === 'string' && STATIC.test(manifest.cssFile) ? manifest.cssFile : FALLBACK.cssFile;
    // `</` would end the <style> element early; the build never writes one, but do not trust it.
    const css = typeof manifest.css === 'string' && !manifest.css.includes('</') ? manifest.css : null;
    const icon = typeof manifest.icon === 'string' && manifest.icon.startsWith('data:image/svg+xml,') && !/["<>\s]/.test(manifest.icon) ? manifest.icon : FALLBACK.icon;
    return { script: manifest.script, css, cssFile, styleHash: css === null ? null : await styleHashOf(css), icon };
  } catch (error) {
    console.error('page assets: login-assets.json unreadable, linking the fixed names', error);
    return FALLBACK;
  }
}

/** The CSP hash source of an inline element's text (CSP3 §8.4: base64 of its SHA-256). */
export async function styleHashOf(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}
