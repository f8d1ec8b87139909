import { encode } from 'uqr';

/** Modules of light margin around the code: the quiet zone ISO/IEC 18004 §5.3.8 requires. */
export const QUIET_ZONE = 4;

/**
 * The SVG path of a QR code's dark modules (one unit per module, quiet zone included), and
 * the side length in modules. Horizontal runs of dark modules become one rectangle each, which
 * keeps the path short and free of hairline seams between neighbours.
 * @param text what the code encodes (the login URL).
 */
export function qrPath(text: string): { size: number; path: string } {
  // Level M (15 % recovery) tolerates a glare spot on a laptop screen and stays a small version.
  const qr = encode(text, { ecc: 'M', border: QUIET_ZONE });
  let path = '';
  qr.data.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x += 1;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x += 1;
      path += `M${start} ${y}h${x - start}v1h-${x - start}z`;
    }
  });
  return { size: qr.size, path };
}

/**
 * The login QR code as inline SVG: dark modules on a white square with the quiet zone, in
 * fixed colours (presentation attributes, not CSS, so no theme or forced-colors mode can
 * invert it). `role="img"` with a label names what it is for screen readers.
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
      <path d={path} fill="#000000" />
    </svg>
  );
}
