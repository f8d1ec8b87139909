/**
 * The problems a login's refusals become at the phone API and the page (RFC 9457 problem data
 * built by src/http/problem.ts): one per {@link Refusal} of the state machine, and two more.
 */
import { ProblemError, type ProblemData } from '../http/problem.ts';
import type { Refusal } from './machine.ts';

/** The problem for each refusal of the machine. */
export const refusalProblem: Record<Refusal, () => ProblemError> = {
  expired: () => new ProblemError('login-expired', 410, 'Login expired', { detail: 'This login is no longer valid.' }),
  ended: () => new ProblemError('login-decided', 409, 'Login already ended', { detail: 'This login has already ended.' }),
  claimed: () =>
    new ProblemError('login-claimed', 409, 'Login claimed by another device', {
      detail: 'Another device has already scanned this login.',
    }),
  'not-scanned': () =>
    new ProblemError('login-not-scanned', 409, 'Login not scanned', { detail: 'Scan the login before answering it.' }),
  'wrong-device': () =>
    new ProblemError('wrong-device', 403, 'Wrong device', { detail: 'Only the device that scanned this login may answer it.' }),
  'not-approved': () => new ProblemError('conflict', 409, 'Login not approved'),
  'already-redeemed': () => new ProblemError('conflict', 409, 'Already redeemed'),
};

/** A pending or scanned login the browser cancelled. */
export const cancelledProblem = () =>
  new ProblemError('login-cancelled', 409, 'Login cancelled in the browser', {
    detail: 'The login was cancelled in the browser that started it.',
  });

/** A device of another identity than the one `login_hint` named (OIDC Core §3.1.2.1). */
export const wrongIdentity = (): ProblemData =>
  new ProblemError('wrong-identity', 403, 'Another person’s key', {
    detail: 'This login is for another person: the service asked for a specific identity. Use that person’s mobile key.',
  }).toJSON();


/**
 * A genuine QR frame presented after its time (src/session/rotation.ts), or a launch link used
 * before: the person scans the code on the screen again.
 */
export const staleFrame = (): ProblemData =>
  new ProblemError('qr-code-expired', 410, 'QR code no longer valid', {
    detail: 'This code is no longer valid — scan the code on the screen again.',
  }).toJSON();
