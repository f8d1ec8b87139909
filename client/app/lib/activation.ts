/**
 * Activation codes as people type them: the operator hands out a grouped code (e.g.
 * "K7QM-4TXR-9HWD-2NCE") to be read aloud or copied, so input may come in any case, with spaces,
 * dashes or dots between the groups. No Workers or DOM API here (unit-tested in workerd).
 */

/** Characters that only separate groups and carry no meaning. */
const SEPARATORS = /[\s\-‐-―−._·]+/g;

/** Longest code we accept from input (a paste of something else is cut off here, not sent). */
export const MAX_ACTIVATION_CODE_LENGTH = 64;

/**
 * Normalises a typed or pasted activation code to what the server expects: upper case letters
 * and digits without separators.
 * @param input what the person typed or pasted.
 * @returns the normalised code; `''` when nothing usable is left. Characters other than letters,
 *   digits and separators make the whole code invalid, see {@link isPlausibleActivationCode}.
 */
export function normalizeActivationCode(input: string): string {
  return input.replace(SEPARATORS, '').toUpperCase().slice(0, MAX_ACTIVATION_CODE_LENGTH);
}

/**
 * Whether a normalised code is worth sending: 8–64 characters of A–Z and 0–9. The server is the
 * only judge of validity; this only catches obvious slips before a (throttled) request.
 */
export function isPlausibleActivationCode(code: string): boolean {
  return /^[A-Z0-9]{8,64}$/.test(code);
}

/**
 * Formats a code in groups of four for display and for the input field ("K7QM-4TXR-9HWD").
 * @param code any text; it is normalised first.
 */
export function groupActivationCode(code: string): string {
  const normalized = normalizeActivationCode(code);
  return normalized.match(/.{1,4}/g)?.join('-') ?? '';
}
