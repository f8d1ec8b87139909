/**
 * Encodes a QR code on the server (the Worker and the LoginSession object) as a
 * {@link DrawnQr}: `uqr` builds the symbol (ISO/IEC 18004: byte mode, level M, Reed–Solomon,
 * placement), and the mask is chosen here, by the standard's penalty rules (§7.8.3), on the
 * symbol bit-packed by rows and by columns (32 modules a word): the same choice `uqr`'s automatic
 * masking makes (test/worker/qr.test.ts checks the two agree module for module) at a fraction
 * of its CPU: `uqr` redraws and rescores arrays of booleans for each of the eight masks, 1.56 ms
 * per login URL (version 8) in Node's V8, against 0.43 ms with byte arrays here and 0.31 ms
 * packed (interleaved in one process, load 4: 0.47 → 0.31 ms; about half of it is now `uqr`'s
 * encoding with a fixed mask, its Reed–Solomon most) — and the login object draws four frames
 * per push (src/session/rotation.ts, docs/performance.md).
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

const patternCache = new Map<number, Uint32Array[]>();

/** Bytes of a grid of side `n`, rounded up to whole 32-bit words (the padding stays 0). */
function paddedSize(n: number): number {
  return (n * n + 3) & ~3;
}

/**
 * The eight mask patterns for a side of `n` modules (one byte a module, 1 = inverted; seen four
 * modules a word), computed once per size.
 */
function maskPatterns(n: number): Uint32Array[] {
  let patterns = patternCache.get(n);
  if (!patterns) {
    patterns = Array.from({ length: 8 }, (_, mask) => {
      const pattern = new Uint8Array(paddedSize(n));
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) pattern[y * n + x] = masked(mask, x, y) ? 1 : 0;
      return new Uint32Array(pattern.buffer);
    });
    patternCache.set(n, patterns);
  }
  return patterns;
}

/** The 15 format bits of level M and `mask` (BCH(15,5), XOR 0x5412), with bit 15 set: the dark module. */
function formatBits(mask: number): number {
  let rem = mask; // level M's two bits are 00
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return (((mask << 10) | rem) ^ 0x5412) | 0x8000;
}

/** Writes the 15 format bits (level M, `mask`; BCH(15,5), XOR 0x5412) in both copies, and the dark module. */
function drawFormat(grid: Uint8Array, n: number, mask: number): void {
  const bits = formatBits(mask);
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
 * A symbol bit-packed twice: row y's modules in `rows[y * words …]` (module x at bit x % 32 of
 * word x / 32, 1 = dark) and column x's in `cols[x * words …]` the same way, so a mask is
 * applied and scored 32 modules at a time. Bits past the side are 0.
 */
interface Packed {
  rows: Int32Array;
  cols: Int32Array;
}

/** Words per packed line of `n` modules. */
function lineWords(n: number): number {
  return (n + 31) >>> 5;
}

/** Packs a byte grid (one byte a module, 0 or 1) by rows and by columns. */
function pack(grid: Uint8Array, n: number): Packed {
  const w = lineWords(n);
  const rows = new Int32Array(n * w);
  const cols = new Int32Array(n * w);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const bit = grid[y * n + x]!;
      rows[y * w + (x >>> 5)]! |= bit << (x & 31);
      cols[x * w + (y >>> 5)]! |= bit << (y & 31);
    }
  }
  return { rows, cols };
}

const packedPatternCache = new Map<number, Packed[]>();

/** The eight mask patterns for a side of `n`, packed ({@link Packed}), computed once per size. */
function packedPatterns(n: number): Packed[] {
  let patterns = packedPatternCache.get(n);
  if (!patterns) {
    patterns = maskPatterns(n).map((words) => pack(new Uint8Array(words.buffer), n));
    packedPatternCache.set(n, patterns);
  }
  return patterns;
}

/** The 1 bits of a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * N1 and N3 of one packed row or column (`w` words at `start` of `lines`): runs of 5 or more of
 * one colour, and finder-like 1:1:3:1:1 patterns with 4 light modules on a side.
 *
 * The reference encoder (Nayuki's, which `uqr` ports) scores a line module by module with a
 * history of its last seven runs; this gives the same scores in two passes. First the line's
 * run lengths, alternating light and dark and starting light (0 when the line starts dark), from
 * the positions where the colour changes (the set bits of the line XOR itself shifted by one, a
 * word at a time: one step per run instead of one per module). Then the reference's rules over
 * the runs: the light border of n modules joins the first and the last light run (a line ending
 * dark gets a last light run of 0), and after each light run the seven runs ending with it are
 * checked for a finder-like pattern.
 * @param runs scratch space for n + 2 run lengths.
 */
function linePenalty(lines: Int32Array, start: number, w: number, n: number, runs: Int32Array): number {
  let k = 0;
  let last = 0;
  let carry = 0; // the previous module's colour: light before the line
  for (let i = 0; i < w; i++) {
    const word = lines[start + i]!;
    let changes = word ^ ((word << 1) | carry);
    carry = word >>> 31;
    if (i === w - 1 && (n & 31) !== 0) changes &= (1 << (n & 31)) - 1; // not the change past the end
    while (changes !== 0) {
      const low = changes & -changes;
      const at = (i << 5) + 31 - Math.clz32(low);
      runs[k++] = at - last;
      last = at;
      changes ^= low;
    }
  }
  runs[k++] = n - last;
  if ((k & 1) === 0) runs[k++] = 0; // an even number of runs: the last is dark
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

/**
 * The penalty score of a masked, packed symbol (ISO/IEC 18004 §7.8.3.1: N1 = 3, N2 = 3, N3 = 40,
 * N4 = 10), or some score of at least `bound` as soon as it is clear that the score reaches
 * `bound` (every line's N1 + N3 is at least 0, so the lines are scored last, and no further
 * once the sum gets there): a mask that cannot score below the best so far is not scored to the end.
 */
function penalty(packed: Packed, n: number, bound: number): number {
  const { rows, cols } = packed;
  const w = lineWords(n);
  let score = 0;
  // 2×2 blocks of one colour, by their top left module (x up to n - 2).
  const tail = n - 1 - ((w - 1) << 5); // valid top left modules in a row's last word
  const tailMask = tail >= 32 ? -1 : (1 << Math.max(0, tail)) - 1;
  let blocks = 0;
  for (let y = 0; y < n - 1; y++) {
    for (let i = 0; i < w; i++) {
      const top = rows[y * w + i]!;
      const bottom = rows[(y + 1) * w + i]!;
      const nextTop = i + 1 < w ? rows[y * w + i + 1]! << 31 : 0;
      const nextBottom = i + 1 < w ? rows[(y + 1) * w + i + 1]! << 31 : 0;
      let same = ~((top ^ ((top >>> 1) | nextTop)) | (bottom ^ ((bottom >>> 1) | nextBottom)) | (top ^ bottom));
      if (i === w - 1) same &= tailMask;
      blocks += popcount(same);
    }
  }
  score += blocks * 3;
  let dark = 0;
  for (let i = 0; i < rows.length; i++) dark += popcount(rows[i]!);
  const total = n * n;
  score += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
  const runs = new Int32Array(n + 2);
  for (let a = 0; a < n && score < bound; a++) score += linePenalty(rows, a * w, w, n, runs) + linePenalty(cols, a * w, w, n, runs);
  return score;
}

/** The format modules of a side of `n` as [x, y, bit of the format word] ({@link drawFormat}), and the dark module as bit 15. */
function formatCells(n: number): [number, number, number][] {
  const cells: [number, number, number][] = [];
  for (let i = 0; i <= 5; i++) cells.push([8, i, i]);
  cells.push([8, 7, 6], [8, 8, 7], [7, 8, 8]);
  for (let i = 9; i < 15; i++) cells.push([14 - i, 8, i]);
  for (let i = 0; i < 8; i++) cells.push([n - 1 - i, 8, i]);
  for (let i = 8; i < 15; i++) cells.push([8, n - 15 + i, i]);
  cells.push([8, n - 8, 15]);
  return cells;
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
  // One byte a module, padded to whole words so that masking runs four modules at a time.
  const size = paddedSize(n);
  const unmasked = new Uint8Array(size);
  const data = new Uint8Array(size); // 1 where a module holds data (is masked)
  for (let y = 0; y < n; y++) {
    const types = qr.types[y]!;
    const modules = qr.data[y]!;
    for (let x = 0, i = y * n; x < n; x++, i++) {
      const isData = types[x] === 0 ? 1 : 0;
      data[i] = isData;
      unmasked[i] = (modules[x] ? 1 : 0) ^ (isData & (1 ^ ((x + y) & 1))); // undo mask 0: (x + y) % 2 === 0
    }
  }
  // Each mask scored on the packed symbol: masked a word at a time, then the format modules set.
  const w = lineWords(n);
  const packedUnmasked = pack(unmasked, n);
  const packedData = pack(data, n);
  const patterns = packedPatterns(n);
  const cells = formatCells(n);
  const scored: Packed = { rows: new Int32Array(n * w), cols: new Int32Array(n * w) };
  let best = 0;
  let lowest = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    const pattern = patterns[mask]!;
    for (const side of ['rows', 'cols'] as const) {
      const [out, from, where, flip] = [scored[side], packedUnmasked[side], packedData[side], pattern[side]];
      for (let i = 0; i < out.length; i++) out[i] = from[i]! ^ (where[i]! & flip[i]!);
    }
    const bits = formatBits(mask);
    for (const [x, y, i] of cells) {
      const bit = (bits >>> i) & 1;
      const r = y * w + (x >>> 5);
      const c = x * w + (y >>> 5);
      scored.rows[r] = (scored.rows[r]! & ~(1 << (x & 31))) | (bit << (x & 31));
      scored.cols[c] = (scored.cols[c]! & ~(1 << (y & 31))) | (bit << (y & 31));
    }
    const score = penalty(scored, n, lowest); // the first mask of lowest score wins, as in uqr
    if (score < lowest) {
      lowest = score;
      best = mask;
    }
  }
  const grid = new Uint8Array(size);
  const [grid32, unmasked32, data32] = [grid, unmasked, data].map((bytes) => new Uint32Array(bytes.buffer)) as [Uint32Array, Uint32Array, Uint32Array];
  const pattern32 = maskPatterns(n)[best]!;
  for (let i = 0; i < grid32.length; i++) grid32[i] = unmasked32[i]! ^ (data32[i]! & pattern32[i]!);
  drawFormat(grid, n, best);
  let binary = '';
  for (let i = 0; i < n * n; i += 8) {
    let byte = 0;
    for (let b = 0; b < 8; b++) byte = (byte << 1) | (i + b < n * n ? grid[i + b]! : 0);
    binary += String.fromCharCode(byte);
  }
  return `${n}:${btoa(binary)}`;
}
