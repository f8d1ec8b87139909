/**
 * Encodes a QR code on the server (the Worker and the LoginSession object) as a
 * {@link DrawnQr}: `uqr` builds the symbol (ISO/IEC 18004: byte mode, level M, Reed–Solomon,
 * placement), and the mask is chosen here, by the standard's penalty rules (§7.8.3), in typed
 * arrays: the same choice `uqr`'s automatic masking makes (test/worker/qr.test.ts checks the
 * two agree module for module) at about a quarter of its CPU: `uqr` redraws and rescores
 * arrays of booleans for each of the eight masks, 1.56 ms per login URL (version 8) in Node's
 * V8, against 0.43 ms here (0.12 ms of it `uqr`'s encoding with a fixed mask) — and the login
 * object draws four frames per push (src/session/rotation.ts, docs/performance.md).
 */
import { encode } from 'uqr';
import type { DrawnQr } from './qr-path.ts';

/** Whether mask pattern `mask` (0–7, ISO/IEC 18004 table 10) inverts the module at column x, row y. */
function masked(mask: number, x: number, y: number): boolean {
  switch (mask) {
    case 0:
      return (x + y) % 2 === 0;
    case 1:
      return y % 2 === 0;
    case 2:
      return x % 3 === 0;
    case 3:
      return (x + y) % 3 === 0;
    case 4:
      return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0;
    case 5:
      return ((x * y) % 2) + ((x * y) % 3) === 0;
    case 6:
      return (((x * y) % 2) + ((x * y) % 3)) % 2 === 0;
    default:
      return ((((x + y) % 2) + ((x * y) % 3)) % 2) === 0;
  }
}

const patternCache = new Map<number, Uint8Array[]>();

/** The eight mask patterns for a side of `n` modules (1 = inverted), computed once per size. */
function maskPatterns(n: number): Uint8Array[] {
  let patterns = patternCache.get(n);
  if (!patterns) {
    patterns = Array.from({ length: 8 }, (_, mask) => {
      const pattern = new Uint8Array(n * n);
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) pattern[y * n + x] = masked(mask, x, y) ? 1 : 0;
      return pattern;
    });
    patternCache.set(n, patterns);
  }
  return patterns;
}

/** Writes the 15 format bits (level M, `mask`; BCH(15,5), XOR 0x5412) in both copies, and the dark module. */
function drawFormat(grid: Uint8Array, n: number, mask: number): void {
  let rem = mask; // level M's two bits are 00
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((mask << 10) | rem) ^ 0x5412;
  const set = (x: number, y: number, i: number) => (grid[y * n + x] = (bits >>> i) & 1);
  for (let i = 0; i <= 5; i++) set(8, i, i);
  set(8, 7, 6);
  set(8, 8, 7);
  set(7, 8, 8);
  for (let i = 9; i < 15; i++) set(14 - i, 8, i);
  for (let i = 0; i < 8; i++) set(n - 1 - i, 8, i);
  for (let i = 8; i < 15; i++) set(8, n - 15 + i, i);
  grid[(n - 8) * n + 8] = 1;
}

/**
 * N1 and N3 of one row or column (the n modules at `start`, `start + step`, …): runs of 5 or
 * more of one colour, and finder-like 1:1:3:1:1 patterns with 4 light modules on a side.
 *
 * The reference encoder (Nayuki's, which `uqr` ports) scores a line module by module with a
 * history of its last seven runs; this gives the same scores in two passes. First the line's
 * run lengths, alternating light and dark and starting light (0 when the line starts dark), in
 * a loop without branches: a colour change is as likely as not, and mispredicted branches were
 * most of the cost. Then the reference's rules over the runs: the light border of n modules
 * joins the first and the last light run (a line ending dark gets a last light run of 0), and
 * after each light run the seven runs ending with it are checked for a finder-like pattern.
 * @param runs scratch space for n + 2 run lengths.
 */
function linePenalty(grid: Uint8Array, start: number, step: number, n: number, runs: Int32Array): number {
  let k = 0;
  let run = 0;
  let color = 0;
  for (let b = 0, i = start; b < n; b++, i += step) {
    const c = grid[i]!;
    const changed = c ^ color;
    runs[k] = run; // kept only when the colour changed
    k += changed;
    run = (run + 1) * (1 - changed) + changed;
    color = c;
  }
  runs[k++] = run;
  if (color) runs[k++] = 0;
  let score = 0;
  for (let j = 0; j < k; j++) if (runs[j]! >= 5) score += runs[j]! - 2; // 3 for five, 1 for each more
  runs[0]! += n;
  runs[k - 1]! += n;
  for (let j = 6; j < k; j += 2) {
    const m = runs[j - 1]!;
    if (runs[j - 2] === m && runs[j - 3] === m * 3 && runs[j - 4] === m && runs[j - 5] === m) {
      const before = runs[j - 6]!;
      const after = runs[j]!;
      score += ((after >= m * 4 && before >= m ? 1 : 0) + (before >= m * 4 && after >= m ? 1 : 0)) * 40;
    }
  }
  return score;
}

/** The penalty score of a masked symbol (ISO/IEC 18004 §7.8.3.1: N1 = 3, N2 = 3, N3 = 40, N4 = 10). */
function penalty(grid: Uint8Array, n: number): number {
  let score = 0;
  const runs = new Int32Array(n + 2);
  for (let a = 0; a < n; a++) score += linePenalty(grid, a * n, 1, n, runs) + linePenalty(grid, a, n, n, runs);
  let blocks = 0;
  for (let y = 0; y < n - 1; y++) {
    for (let i = y * n, end = i + n - 1; i < end; i++) {
      const c = grid[i]!;
      blocks += 1 - ((c ^ grid[i + 1]!) | (c ^ grid[i + n]!) | (c ^ grid[i + n + 1]!)); // no branch: as likely as not
    }
  }
  score += blocks * 3;
  let dark = 0;
  for (let i = 0; i < n * n; i++) dark += grid[i]!;
  const total = n * n;
  return score + (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
}

/**
 * The QR code of `text` (byte mode, error correction level M — 15 % recovery, which tolerates
 * a glare spot on a laptop screen — the smallest version that holds it, the mask of lowest
 * penalty), as a {@link DrawnQr}.
 * @throws {RangeError} when the text does not fit a version-40 code.
 */
export function drawQr(text: string): DrawnQr {
  const qr = encode(text, { ecc: 'M', border: 0, maskPattern: 0 });
  const n = qr.size;
  const unmasked = new Uint8Array(n * n);
  const data = new Uint8Array(n * n); // 1 where a module holds data (is masked)
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      data[i] = qr.types[y]![x] === 0 ? 1 : 0;
      unmasked[i] = (qr.data[y]![x] ? 1 : 0) ^ (data[i] && masked(0, x, y) ? 1 : 0);
    }
  }
  const grid = new Uint8Array(n * n);
  const patterns = maskPatterns(n);
  const apply = (mask: number) => {
    const pattern = patterns[mask]!;
    for (let i = 0; i < n * n; i++) grid[i] = unmasked[i]! ^ (data[i]! & pattern[i]!);
    drawFormat(grid, n, mask);
  };
  let best = 0;
  let lowest = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    apply(mask);
    const score = penalty(grid, n);
    if (score < lowest) {
      lowest = score;
      best = mask;
    }
  }
  apply(best);
  const bytes = new Uint8Array(Math.ceil((n * n) / 8));
  grid.forEach((dark, i) => {
    if (dark) bytes[i >> 3]! |= 0x80 >> (i & 7);
  });
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `${n}:${btoa(binary)}`;
}
