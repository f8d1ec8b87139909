/** The problems a pairing answers with (RFC 9457; codes in src/http/problem.ts), as RPC-safe data. */
import { ProblemError, type ProblemData } from '../http/problem.ts';

export const pairingProblem = {
  binding: (): ProblemData =>
    new ProblemError('pairing-binding', 403, 'Not the browser that started this pairing', {
      detail: 'This pairing can only be watched and confirmed from the browser or key that started it.',
    }).toJSON(),
  expired: (): ProblemData =>
    new ProblemError('pairing-expired', 410, 'Pairing expired', { detail: 'This pairing expired. Start a new one on your existing key.' }).toJSON(),
  ended: (): ProblemData =>
    new ProblemError('pairing-ended', 409, 'Pairing ended', { detail: 'This pairing was already used or cancelled. Start a new one.' }).toJSON(),
  claimed: (): ProblemData =>
    new ProblemError('pairing-claimed', 409, 'Pairing claimed', { detail: 'Another device has already claimed this pairing.' }).toJSON(),
  notClaimed: (): ProblemData =>
    new ProblemError('pairing-not-claimed', 409, 'No device yet', { detail: 'No new device has claimed this pairing yet.' }).toJSON(),
  wrongDevice: (): ProblemData =>
    new ProblemError('wrong-device', 403, 'Wrong device', { detail: 'Only the key that started this pairing may confirm it.' }).toJSON(),
};
