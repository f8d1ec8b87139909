/**
 * A QR code as the server draws it and the page shows it, with no QR encoder in the browser.
 *
 * The server encodes (client/shared/qr-encode.ts) and hands out each code as a {@link DrawnQr}:
 * its modules, one bit each. {@link drawnPath} turns that into the SVG path the page shows —
 * the same function on the server (the first HTML) and in the browser (every later frame), so
 * both draw exactly the same path.
 */

/** Modules of light margin around the code: the quiet zone ISO/IEC 18004 §5.3.8 requires. */
export const QUIET_ZONE = 4;

/**
 * A drawn QR code: `<n>:<base64>` — `n` modules per side (21…177, quiet zone not included),
 * then the n×n modules row by row, top left first, one bit each (1 = dark, most significant
 * bit first, the last byte padded with zeros), in standard base64 (RFC 4648 §4). About 400
 * characters for a login URL (version 8, 49 × 49).
 */
export type DrawnQr = string;

/**
 * The SVG path of a drawn code's dark modules, for a `<path stroke>` of width 1 (the default)
 * in a `0 0 size size` viewBox: each horizontal run of dark modules is one line through the
 * middle of its row, written relative to the end of the previous run (`M4 4.5h7m2 0h1m-12 1h3…`),
 * which is less than half the text of one rectangle per run and leaves no seams.
 * @returns `size` in modules (quiet zone included) and the path; undefined for text that is not a {@link DrawnQr}.
 */
export function drawnPath(drawn: DrawnQr): { size: number; path: string } | undefined {
  const colon = drawn.indexOf(':');
  const n = Number(drawn.slice(0, colon));
  let bits: string;
  try {
    bits = atob(drawn.slice(colon + 1));
  } catch {
    return undefined;
  }
  if (!(n >= 21 && n <= 177) || bits.length !== Math.ceil((n * n) / 8)) return undefined;
  const dark = (x: number, y: number) => x < n && (bits.charCodeAt((y * n + x) >> 3) >> (7 - ((y * n + x) & 7))) & 1;
  let path = '';
  let endX = 0;
  let endY = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!dark(x, y)) continue;
      const start = x;
      while (dark(x + 1, y)) x++;
      path += path ? `m${start - endX} ${y - endY}` : `M${start + QUIET_ZONE} ${y + QUIET_ZONE + 0.5}`;
      path += `h${x + 1 - start}`;
      endX = x + 1;
      endY = y;
    }
  }
  return { size: n + 2 * QUIET_ZONE, path };
}
