import { ProblemError, problems } from '../http/problem.ts';
import type { LoginSession } from './LoginSession.ts';
import type { Result } from './types.ts';

/** A login id is the hex form of a Durable Object id. */
export const LOGIN_ID = /^[0-9a-f]{64}$/;

/**
 * The LoginSession stub for an id from a URL, QR or code.
 * @throws {ProblemError} 404 `not-found` for anything that is not one of our object ids
 *   (checked before the object is touched, so junk ids never create objects).
 */
export function loginStub(env: Env, loginId: string): DurableObjectStub<LoginSession> {
  if (!LOGIN_ID.test(loginId)) throw problems.notFound('No such login.');
  let id: DurableObjectId;
  try {
    id = env.LOGIN_SESSION.idFromString(loginId);
  } catch {
    throw problems.notFound('No such login.');
  }
  return env.LOGIN_SESSION.get(id) as DurableObjectStub<LoginSession>;
}

/**
 * Unwraps an RPC {@link Result}.
 * @throws {ProblemError} rebuilt from the object's problem data.
 */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw ProblemError.from(result.problem);
  return result.value;
}
