/**
 * The client address that throttles and rate limits count by. One person's IPv6 network is a
 * /64 (RFC 6177 recommends /48–/64 per site; SLAAC hands a device any address in its /64), so
 * IPv6 addresses are counted per /64 — otherwise every request could come from a fresh address.
 */

/**
 * The key of an address: IPv4 as is, IPv6 as its /64 prefix (`2001:db8:1:2::/64`), an
 * IPv4-mapped IPv6 address as its IPv4 address; anything else (e.g. `local`) unchanged.
 * @param ip a textual address as in `CF-Connecting-IP`.
 */
export function addressKey(ip: string): string {
  const text = ip.trim().toLowerCase();
  if (!text.includes(':')) return text;
  const mapped = /^[0:]*:ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(text.split('%')[0]!);
  if (!groups) return text;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (hex, unpadded), or null when it is not one. */
function expandIpv6(text: string): string[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  // A trailing dotted IPv4 part counts as two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  if (last?.includes('.')) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups : null;
}

/**
 * The requesting client's address key: Cloudflare's `CF-Connecting-IP` through {@link addressKey},
 * or `local` when absent (under `wrangler dev` without a proxy every caller is the same local person).
 */
export function clientAddressKey(request: Request): string {
  const ip = request.headers.get('CF-Connecting-IP');
  return ip ? addressKey(ip) : 'local';
}
