/**
 * The unmasked symbol of a byte-mode QR code at error correction level M (ISO/IEC 18004:2015
 * §7: data encoding §7.4, Reed–Solomon §7.5, structure §7.6–7.7, version information §7.10),
 * for client/shared/qr-encode.ts, which chooses the mask. It builds exactly the symbol `uqr`
 * (Nayuki's encoder) builds — `encode(text, { ecc: 'M' })`, which the tests compare module for
 * module — in typed arrays, with what depends on the version alone (the function patterns and
 * the order in which data bits are placed) computed once per version and Reed–Solomon by
 * log/antilog tables, instead of arrays of booleans and a bitwise multiply per coefficient.
 *
 * Only text `uqr` would put in one byte segment: anything else (empty, all digits, the
 * alphanumeric set, unpaired surrogates, more than a version-40 code holds) is left to `uqr`
 * ({@link byteSymbol} answers null).
 */

/** Error correction codewords per block, level M, by version (index 0 unused). */
const ECC_PER_BLOCK = [
  -1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
];
/** Error correction blocks, level M, by version (index 0 unused). */
const BLOCKS = [
  -1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37,
  38, 40, 43, 45, 47, 49,
];

/** An unmasked symbol: `n` modules a side, one byte a module, row by row, padded to whole 32-bit words. */
export interface QrSymbol {
  n: number;
  /** 1 = dark, before any mask (format modules light: the mask's chooser writes them). */
  modules: Uint8Array;
  /** 1 where a module holds data or error correction (is masked). */
  data: Uint8Array;
}

/** Bits of the symbol's data area, by version (§7.7.1): everything but function patterns and format and version information. */
function rawDataModules(version: number): number {
  let bits = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    bits -= (25 * align - 10) * align - 55;
    if (version >= 7) bits -= 36;
  }
  return bits;
}

/** Data codewords a level-M symbol of `version` holds. */
function dataCodewords(version: number): number {
  return Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[version]! * BLOCKS[version]!;
}

/** Centres of the alignment patterns on each axis (§6.3.6, Annex E; as `uqr` computes them). */
function alignmentPositions(version: number, n: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
  const positions = [6];
  for (let at = n - 7; positions.length < count; at -= step) positions.splice(1, 0, at);
  return positions;
}

/** What depends on the version alone: the function modules drawn, the data mask, and where each data bit goes. */
interface Layout {
  n: number;
  modules: Uint8Array;
  data: Uint8Array;
  /** Module index of data bit i, in placement order (§7.7.3). */
  order: Int32Array;
}

const layouts = new Map<number, Layout>();

function layout(version: number): Layout {
  const cached = layouts.get(version);
  if (cached) return cached;
  const n = version * 4 + 17;
  const size = (n * n + 3) & ~3;
  const modules = new Uint8Array(size);
  const isFunction = new Uint8Array(size);
  const set = (x: number, y: number, dark: boolean) => {
    modules[y * n + x] = dark ? 1 : 0;
    isFunction[y * n + x] = 1;
  };
  for (let i = 0; i < n; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [n - 4, 3], [3, n - 4]] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const distance = Math.max(Math.abs(dx), Math.abs(dy));
        const [x, y] = [cx + dx, cy + dy];
        if (x >= 0 && x < n && y >= 0 && y < n) set(x, y, distance !== 2 && distance !== 4);
      }
    }
  }
  const align = alignmentPositions(version, n);
  for (let i = 0; i < align.length; i++) {
    for (let j = 0; j < align.length; j++) {
      if ((i === 0 && j === 0) || (i === 0 && j === align.length - 1) || (i === align.length - 1 && j === 0)) continue;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(align[i]! + dx, align[j]! + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
  }
  // Format information (its modules light here) and the dark module.
  for (let i = 0; i <= 5; i++) set(8, i, false);
  set(8, 7, false);
  set(8, 8, false);
  set(7, 8, false);
  for (let i = 9; i < 15; i++) set(14 - i, 8, false);
  for (let i = 0; i < 8; i++) set(n - 1 - i, 8, false);
  for (let i = 8; i < 15; i++) set(8, n - 15 + i, false);
  set(8, n - 8, true);
  if (version >= 7) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = n - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, dark);
      set(b, a, dark);
    }
  }
  const data = new Uint8Array(size);
  for (let i = 0; i < n * n; i++) data[i] = 1 - isFunction[i]!;
  const order = new Int32Array(Math.floor(rawDataModules(version) / 8) * 8);
  let k = 0;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let vert = 0; vert < n; vert++) {
      const y = upward ? n - 1 - vert : vert;
      for (let j = 0; j < 2; j++) {
        const i = y * n + right - j;
        if (data[i] && k < order.length) order[k++] = i;
      }
    }
  }
  const made = { n, modules, data, order };
  layouts.set(version, made);
  return made;
}

/** GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11d): antilogarithms of 2 (doubled, so sums of logs need no modulo) and logarithms. */
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  EXP[i + 255] = x;
  LOG[x] = i;
  x = (x << 1) ^ (x & 0x80 ? 0x11d : 0);
}

const divisors = new Map<number, Int16Array>();

/**
 * The Reed–Solomon generator polynomial of `degree` (x − 2⁰)(x − 2¹)…, highest coefficient
 * dropped, as `uqr` computes it; returned as the logarithms of its coefficients (−1 for a 0).
 */
function divisor(degree: number): Int16Array {
  const cached = divisors.get(degree);
  if (cached) return cached;
  const result = new Uint8Array(degree);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = result[j] && root ? EXP[LOG[result[j]!]! + LOG[root]!]! : 0;
      if (j + 1 < degree) result[j]! ^= result[j + 1]!;
    }
    root = EXP[LOG[root]! + 1]!;
  }
  const logs = Int16Array.from(result, (c) => (c === 0 ? -1 : LOG[c]!));
  divisors.set(degree, logs);
  return logs;
}

/** The error correction codewords of one block (`data[start…end)`): its remainder by the generator ({@link divisor}'s logarithms). */
function remainder(data: Uint8Array, start: number, end: number, logs: Int16Array): Uint8Array {
  const degree = logs.length;
  const result = new Uint8Array(degree);
  for (let i = start; i < end; i++) {
    const factor = data[i]! ^ result[0]!;
    result.copyWithin(0, 1);
    result[degree - 1] = 0;
    if (factor !== 0) {
      const f = LOG[factor]!;
      for (let j = 0; j < degree; j++) if (logs[j]! >= 0) result[j]! ^= EXP[logs[j]! + f]!;
    }
  }
  return result;
}

const NUMERIC = /^\d*$/;
const ALPHANUMERIC = /^[A-Z0-9 $%*+./:-]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The unmasked level-M symbol of `text` as one byte segment (UTF-8), in the smallest version
 * that holds it.
 * @returns null for text `uqr` encodes otherwise or refuses (see the module's comment).
 */
export function byteSymbol(text: string): QrSymbol | null {
  if (NUMERIC.test(text) || ALPHANUMERIC.test(text) || LONE_SURROGATE.test(text)) return null;
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  for (; version <= 40; version++) {
    const countBits = version <= 9 ? 8 : 16;
    if (bytes.length < 1 << countBits && 4 + countBits + bytes.length * 8 <= dataCodewords(version) * 8) break;
  }
  if (version > 40) return null;
  // Data codewords: mode 0100, the count, the bytes, up to four 0 bits, 0 bits to a byte, then 0xEC 0x11 … (§7.4.10).
  const capacity = dataCodewords(version);
  const codewords = new Uint8Array(capacity);
  const countBits = version <= 9 ? 8 : 16;
  let bits = 0;
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--, bits++) if ((value >>> i) & 1) codewords[bits >>> 3]! |= 0x80 >> (bits & 7);
  };
  put(0b0100, 4);
  put(bytes.length, countBits);
  for (const byte of bytes) put(byte, 8);
  bits += Math.min(4, capacity * 8 - bits);
  bits = (bits + 7) & ~7;
  for (let pad = 0xec; bits < capacity * 8; pad ^= 0xec ^ 0x11) put(pad, 8);
  // Blocks, each with its error correction, interleaved (§7.5.2, §7.6).
  const blocks = BLOCKS[version]!;
  const eccLength = ECC_PER_BLOCK[version]!;
  const raw = Math.floor(rawDataModules(version) / 8);
  const shortBlocks = blocks - (raw % blocks);
  const shortLength = Math.floor(raw / blocks) - eccLength; // data codewords of a short block
  const generator = divisor(eccLength);
  const all = new Uint8Array(raw);
  for (let b = 0, start = 0; b < blocks; b++) {
    const length = shortLength + (b < shortBlocks ? 0 : 1);
    for (let i = 0; i < length; i++) all[i < shortLength ? i * blocks + b : shortLength * blocks + (b - shortBlocks)] = codewords[start + i]!;
    const ecc = remainder(codewords, start, start + length, generator);
    const eccStart = shortLength * blocks + (blocks - shortBlocks);
    for (let i = 0; i < eccLength; i++) all[eccStart + i * blocks + b] = ecc[i]!;
    start += length;
  }
  const { n, modules: drawn, data, order } = layout(version);
  const modules = drawn.slice();
  for (let i = 0; i < raw * 8; i++) if ((all[i >>> 3]! >>> (7 - (i & 7))) & 1) modules[order[i]!] = 1;
  return { n, modules, data };
}
