/**
 * The login page script's stand-in for Qr.tsx (vite.config.ts aliases it for the browser build):
 * the server already drew the QR (src/login/, with uqr), and a login's QR never changes on its
 * page (a fresh login is a fresh page), so the script reuses the server's path instead of
 * shipping a QR encoder. Same markup as Qr.tsx, so hydration matches.
 */
/** The server-rendered QR's path and side, read once from the document. */
function serverQr(): { size: number; path: string } {
  const svg = typeof document === 'undefined' ? null : document.querySelector('svg[data-qr]');
  const size = Number(svg?.getAttribute('viewBox')?.split(' ')[2] ?? 0);
  return { size, path: svg?.querySelector('path')?.getAttribute('d') ?? '' };
}

let drawn: { size: number; path: string } | undefined;

/** See Qr.tsx's `Qr`; `text` is what the server encoded (unused here). */
export function Qr(props: { text: string; label: string }) {
  drawn ??= serverQr();
  const { size, path } = drawn;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={props.label}
      viewBox={`0 0 ${size} ${size}`}
      width="264"
      height="264"
      shape-rendering="crispEdges"
      data-qr=""
      xmlns="http://www.w3.org/2000/svg"
    >
      <rect width={size} height={size} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}
