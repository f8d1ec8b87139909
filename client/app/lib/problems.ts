/**
 * Turning `application/problem+json` errors (RFC 9457) of the phone-facing API into what the
 * person reads. Clients switch on the stable `type` (`urn:mobile-key:problem:<code>`), never on
 * `title` or `detail`.
 */
import type { MessageKey } from './i18n.ts';

const TYPE_PREFIX = 'urn:mobile-key:problem:';

/** A failed API call: the problem code, or `network` when no response came. */
export interface ApiProblem {
  code: string;
  status: number;
  title?: string;
  detail?: string;
  /** The server's clock (epoch milliseconds), sent with `timestamp-out-of-window`. */
  now?: number;
}

/**
 * Reads a problem from a response body.
 * @param status the HTTP status.
 * @param body the parsed JSON body, or anything else (then the code is `http-<status>`).
 */
export function problemFromBody(status: number, body: unknown): ApiProblem {
  if (body && typeof body === 'object' && typeof (body as { type?: unknown }).type === 'string') {
    const { type, title, detail, now } = body as { type: string; title?: unknown; detail?: unknown; now?: unknown };
    const code = type.startsWith(TYPE_PREFIX) ? type.slice(TYPE_PREFIX.length) : type;
    return {
      code,
      status,
      ...(typeof title === 'string' ? { title } : {}),
      ...(typeof detail === 'string' ? { detail } : {}),
      ...(typeof now === 'number' && Number.isSafeInteger(now) ? { now } : {}),
    };
  }
  return { code: status === 429 ? 'too-many-requests' : `http-${status}`, status };
}

/** What a problem means for the login screen: which result to show. */
export type LoginOutcome = 'expired' | 'error';

/**
 * Whether a problem ends the login as expired (its own clear screen) or as another error.
 */
export function loginOutcome(problem: ApiProblem): LoginOutcome {
  return problem.code === 'login-expired' ? 'expired' : 'error';
}

/**
 * The message for a problem.
 * @returns a message key; unknown codes (and 5xx) get the generic message.
 */
export function problemMessage(problem: ApiProblem): MessageKey {
  switch (problem.code) {
    case 'invalid-activation-code':
      return 'problemInvalidActivationCode';
    case 'activation-code-used':
      return 'problemActivationCodeUsed';
    case 'activation-code-expired':
      return 'problemActivationCodeExpired';
    case 'too-many-requests':
      return 'problemTooManyRequests';
    case 'login-expired':
      return 'problemLoginExpired';
    case 'login-decided':
      return 'problemLoginDecided';
    case 'login-cancelled':
      return 'problemLoginCancelled';
    case 'login-claimed':
    case 'wrong-device':
      return 'problemLoginClaimed';
    case 'wrong-identity':
      return 'problemWrongIdentity';
    case 'not-found':
      return 'problemNotFound';
    case 'unknown-device':
      return 'problemUnknownDevice';
    case 'device-revoked':
      return 'problemDeviceRevoked';
    case 'invalid-signature':
    case 'invalid-nonce':
      return 'problemInvalidSignature';
    case 'invalid-input':
    case 'invalid-number':
    case 'invalid-public-key':
    case 'malformed-json':
    case 'bad-request':
    case 'payload-too-large':
    case 'unsupported-media-type':
      return 'problemInvalidInput';
    case 'timestamp-out-of-window':
      return 'problemClock';
    case 'qr-code-expired':
      return 'problemQrExpired';
    case 'unsupported-protocol-version':
      return 'problemOldVersion';
    case 'network':
      return 'problemNetwork';
    case 'pairing-expired':
      return 'problemPairingExpired';
    case 'pairing-ended':
    case 'pairing-not-claimed':
      return 'problemPairingEnded';
    case 'pairing-claimed':
      return 'problemPairingClaimed';
    case 'pairing-binding':
      return 'problemPairingBinding';
    default:
      return 'problemGeneric';
  }
}
