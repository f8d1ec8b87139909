import { drawQr } from './qr-encode.ts';
import { drawnPath, QUIET_ZONE } from './qr-path.ts';

export { QUIET_ZONE };

/**
 * The SVG path of a QR code's dark modules (one unit per module, quiet zone included, for a
 * `<path stroke>` of width 1: client/shared/qr-path.ts), and the side length in modules.
 * @param text what the code encodes (the login URL).
 */
export function qrPath(text: string): { size: number; path: string } {
  return drawnPath(drawQr(text))!;
}

/**
 * The login QR code as inline SVG: dark modules on a white square with the quiet zone, in
 * fixed colours (presentation attributes, not CSS, so no theme or forced-colors mode can
 * invert it). `role="img"` with a label names what it is for screen readers. The login page's
 * script replaces the path and the size (`viewBox`, the square's) with each frame it is sent.
 */
export function Qr(props: { text: string; label: string }) {
  const { size, path } = qrPath(props.text);
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
      <path d={path} stroke="#000000" />
    </svg>
  );
}
