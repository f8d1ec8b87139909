/**
 * The mobile key web app's HTML shell and manifest. The app renders on the client (it needs
 * the fragment, IndexedDB and WebCrypto, none of which the server sees), so the shell is static:
 * the same bytes for every `/key/*` screen.
 */

/** The app's theme colour (manifest, `<meta name="theme-color">`, icons). */
export const THEME_COLOR = '#0b4f8a';

/**
 * Content-Security-Policy of the shell (CSP Level 3): scripts and styles only from our origin
 * (no inline script), API calls only to our origin, the camera stream for QR scanning, and no
 * framing (clickjacking an Approve button must be impossible).
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every shell response. */
export const SHELL_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': APP_CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(self), microphone=(), geolocation=()',
  'Cache-Control': 'no-store',
};

/** The shell document: metadata, the built script and style, and a message for no-script. */
export const SHELL_HTML = `<!doctype html>
<html lang="cs">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>Mobilní klíč</title>
<meta name="description" content="Mobilní klíč: přihlášení naskenováním QR kódu a potvrzením v telefonu.">
<meta name="theme-color" content="${THEME_COLOR}">
<meta name="color-scheme" content="light dark">
<link rel="manifest" href="/key/manifest.webmanifest">
<link rel="icon" href="/static/icons/key.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/static/icons/key-192.png">
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/app.js"></script>
</head>
<body>
<div id="app">
<noscript><p>Mobilní klíč potřebuje JavaScript. <span lang="en">The mobile key needs JavaScript.</span></p></noscript>
</div>
</body>
</html>
`;

/** The Web App Manifest (W3C Web Application Manifest): installable, standalone, scoped to /key/. */
export const MANIFEST = {
  id: '/key/',
  name: 'Mobilní klíč',
  short_name: 'Klíč',
  description: 'Přihlášení naskenováním QR kódu a potvrzením v telefonu.',
  lang: 'cs',
  start_url: '/key/',
  scope: '/key/',
  display: 'standalone',
  orientation: 'portrait',
  background_color: '#f4f6f9',
  theme_color: THEME_COLOR,
  icons: [
    { src: '/static/icons/key-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/static/icons/key-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: '/static/icons/key-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    { src: '/static/icons/key.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
  ],
} as const;
