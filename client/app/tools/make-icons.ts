/**
 * Draws the web app's PWA icons (a white key on the brand blue) as PNGs with pngjs, from the
 * same geometry as client/public/static/icons/key.svg. Run once after changing the design:
 *   node client/app/tools/make-icons.ts
 * Output: key-192.png, key-512.png (rounded, "any") and key-maskable-512.png (full bleed, the
 * key inside the maskable safe zone, a centred circle of 80 % diameter).
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const OUT = new URL('../../public/static/icons/', import.meta.url);
const BRAND = [0x0b, 0x4f, 0x8a] as const;

/** Whether point (x, y) in a 0..100 design square is inside the key glyph. */
function inKey(x: number, y: number): boolean {
  // Ring (bow) at (34, 50), outer radius 17, hole radius 7.5.
  const d = Math.hypot(x - 34, y - 50);
  if (d <= 17 && d >= 7.5) return true;
  // Shaft from the ring to x = 82, 8 high.
  if (x >= 48 && x <= 82 && y >= 46 && y <= 54) return true;
  // Two teeth hanging below the shaft.
  if (x >= 64 && x <= 70 && y >= 54 && y <= 63) return true;
  if (x >= 75 && x <= 82 && y >= 54 && y <= 66) return true;
  return false;
}

/** Whether (x, y) in 0..100 is inside a rounded square with corner radius r. */
function inRoundedSquare(x: number, y: number, r: number): boolean {
  const cx = Math.min(Math.max(x, r), 100 - r);
  const cy = Math.min(Math.max(y, r), 100 - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

function draw(size: number, maskable: boolean): Buffer {
  const png = new PNG({ width: size, height: size });
  const samples = 4;
  // Maskable: the glyph shrinks to 70 % so it stays inside the safe zone.
  const glyphScale = maskable ? 0.7 : 1;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0;
      let fg = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = ((px + (sx + 0.5) / samples) / size) * 100;
          const y = ((py + (sy + 0.5) / samples) / size) * 100;
          const inside = maskable || inRoundedSquare(x, y, 22);
          if (!inside) continue;
          bg++;
          const gx = 50 + (x - 50) / glyphScale;
          const gy = 50 + (y - 50) / glyphScale;
          if (inKey(gx, gy)) fg++;
        }
      }
      const n = samples * samples;
      const i = (py * size + px) * 4;
      const f = fg / Math.max(bg, 1);
      for (let c = 0; c < 3; c++) png.data[i + c] = Math.round(BRAND[c]! * (1 - f) + 255 * f);
      png.data[i + 3] = Math.round((255 * bg) / n);
    }
  }
  return PNG.sync.write(png, { colorType: 6 });
}

writeFileSync(new URL('key-192.png', OUT), draw(192, false));
writeFileSync(new URL('key-512.png', OUT), draw(512, false));
writeFileSync(new URL('key-maskable-512.png', OUT), draw(512, true));
