/**
 * Number matching for relying services that require it (`require_number_matching`, issue 14):
 * when a device scans, the login draws a two-digit number that only the login page shows, and
 * three candidates — the number and two others, in random order — that only the phone gets.
 * Approving needs the person to pick the number the page shows; a wrong pick denies the login.
 * So a person approving from a code somebody sent her cannot approve without the page that
 * started the login in front of her (docs/security.md).
 *
 * Pure rules here ({@link drawNumberMatch}, {@link judgePick}); the LoginSession keeps the drawn
 * match under {@link NUMBER_MATCH_KEY} (docs/storage.md) and reads it through the helpers below.
 */
import { ProblemError, type ProblemData } from '../http/problem.ts';
import type { Decision, LoginClient } from './types.ts';

/** Durable Object storage key of the drawn {@link NumberMatch}. */
export const NUMBER_MATCH_KEY = 'numberMatch';

/** Smallest and largest number shown (two digits). */
export const NUMBER_RANGE = { min: 10, max: 99 } as const;
/** How many numbers the phone offers. */
export const CHOICE_COUNT = 3;

/** A drawn match: `number` is one of `choices`. */
export interface NumberMatch {
  /** Shown on the login page only. */
  number: number;
  /** Offered on the phone, in this (random) order. */
  choices: number[];
}

/** A uniformly random integer in [0, n), n ≤ 256, from WebCrypto (rejection sampling, no bias). */
function randomBelow(n: number): number {
  const limit = 256 - (256 % n);
  const byte = new Uint8Array(1);
  for (;;) {
    crypto.getRandomValues(byte);
    if (byte[0]! < limit) return byte[0]! % n;
  }
}

/**
 * Draws the number and its three candidates.
 * @param random an integer in [0, n) (injectable for tests); WebCrypto by default.
 */
export function drawNumberMatch(random: (n: number) => number = randomBelow): NumberMatch {
  const span = NUMBER_RANGE.max - NUMBER_RANGE.min + 1;
  const choices: number[] = [];
  while (choices.length < CHOICE_COUNT) {
    const candidate = NUMBER_RANGE.min + random(span);
    if (!choices.includes(candidate)) choices.push(candidate);
  }
  const number = choices[0]!;
  // Fisher–Yates, so the right one is not always first.
  for (let i = choices.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [choices[i], choices[j]] = [choices[j]!, choices[i]!];
  }
  return { number, choices };
}

/** What an answer's pick amounts to: refused as bad input, or taken (`wrong` turns it into a denial). */
export type PickOutcome = { ok: true; wrong: boolean } | { ok: false; problem: ProblemData };

const invalidNumber = (detail: string): PickOutcome => ({
  ok: false,
  problem: new ProblemError('invalid-number', 400, 'Invalid number', { detail }).toJSON(),
});

/**
 * Judges the number an answer picked.
 * - No match drawn (the service does not require it): a pick is refused, nothing to pick from.
 * - Deny: the pick does not matter.
 * - Approve: the pick is required and must be one of the choices (else refused, the login
 *   unchanged, so the phone can correct itself); one of the choices but not the number → `wrong`.
 * @param pick the answer's `number`, or undefined when absent.
 */
export function judgePick(match: NumberMatch | undefined, decision: Decision, pick: number | undefined): PickOutcome {
  if (!match) {
    return pick === undefined ? { ok: true, wrong: false } : invalidNumber('This login offers no numbers to pick from: send no number.');
  }
  if (decision === 'deny') return { ok: true, wrong: false };
  if (pick === undefined) {
    return invalidNumber('This service requires number matching: send the number the login page shows, picked from the scan’s number_choices.');
  }
  if (!match.choices.includes(pick)) return invalidNumber('The number must be one of the scan’s number_choices.');
  return { ok: true, wrong: pick !== match.number };
}

/** The storage entry to write with a first scan: a fresh match when the service requires it, else nothing. */
export function numberMatchEntry(client: LoginClient): Record<string, NumberMatch> {
  return client.requireNumberMatching ? { [NUMBER_MATCH_KEY]: drawNumberMatch() } : {};
}

/** The drawn match of a login, if any (validated: storage outlives code versions). */
export async function storedNumberMatch(storage: DurableObjectStorage): Promise<NumberMatch | undefined> {
  return numberMatchOf(await storage.get(NUMBER_MATCH_KEY));
}

/** A value read from {@link NUMBER_MATCH_KEY} as a match, or undefined when it is none (validated). */
export function numberMatchOf(value: unknown): NumberMatch | undefined {
  const match = value as Partial<NumberMatch> | undefined;
  if (!match || !Number.isInteger(match.number) || !Array.isArray(match.choices) || !match.choices.includes(match.number!)) return undefined;
  return match as NumberMatch;
}
