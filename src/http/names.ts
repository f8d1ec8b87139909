/**
 * Names people read when deciding whether to approve a login — a relying service's name, a
 * device's name — shown on the hosted page, in the web app and in a terminal. They must not be
 * able to fake other text: no control characters (terminal escapes, newlines), no invisible
 * format characters (bidi overrides and marks, zero-width characters, BOM, tag characters), no
 * line or paragraph separators and no lone surrogates.
 */
import * as v from 'valibot';
import { isCountryCode } from './location.ts';

/** Characters a display name may not contain (Unicode general categories Cc, Cf, Cs, Zl, Zp). */
export const UNSAFE_NAME_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** True when `text` is well-formed UTF-16 and free of {@link UNSAFE_NAME_CHARACTERS}. */
export function isSafeDisplayName(text: string): boolean {
  return text.isWellFormed() && !UNSAFE_NAME_CHARACTERS.test(text);
}

/**
 * A valibot schema for a display name: trimmed, 1..`max` characters, {@link isSafeDisplayName}.
 * @param what the field's name in error messages.
 */
export function displayName(what: string, max: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(max, `${what} must be at most ${max} characters`),
    v.check(isSafeDisplayName, `${what} must not contain control or invisible formatting characters`),
  );
}

/** Replaces unsafe characters with U+FFFD for display in a terminal (the CLI's defence in depth). */
export function sanitizeForTerminal(text: string): string {
  return text.toWellFormed().replace(new RegExp(UNSAFE_NAME_CHARACTERS.source, 'gu'), '\uFFFD');
}

/** Longest browser, OS, city text shown about a requesting browser, in characters. */
export const MAX_REQUESTER_TEXT = 40;

/** Where and what a requesting browser is, as the phone is told (all fields optional). */
export interface RequesterText {
  country?: string;
  city?: string;
  browser?: string;
  os?: string;
}

/**
 * Keeps only the fields of a requester description that are safe to show: `country` an ISO
 * 3166-1 alpha-2 code (not `XX`, unknown), the others {@link isSafeDisplayName} text of at most
 * {@link MAX_REQUESTER_TEXT} characters. Anything else is dropped, not repaired. Used wherever
 * the description is shown (phone API, web app, key CLI), whatever produced it.
 * @param value untrusted input (JSON from the wire or storage).
 */
export function safeRequester(value: unknown): RequesterText {
  const safe: RequesterText = {};
  if (typeof value !== 'object' || value === null) return safe;
  const r = value as Record<string, unknown>;
  if (isCountryCode(r.country)) safe.country = r.country;
  for (const key of ['city', 'browser', 'os'] as const) {
    const text = r[key];
    if (typeof text === 'string' && text.length > 0 && text.length <= MAX_REQUESTER_TEXT && text.trim() === text && isSafeDisplayName(text)) {
      safe[key] = text;
    }
  }
  return safe;
}
