/**
 * Problem Details for HTTP APIs (RFC 9457): the error format of every endpoint that is not
 * an OAuth endpoint. OAuth endpoints use `src/oidc/errors.ts` instead.
 */

/** Stable problem codes. Clients switch on `type` (`urn:mobile-key:problem:<code>`). */
export type ProblemCode =
  | 'bad-request'
  | 'malformed-json'
  | 'invalid-input'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'not-found'
  | 'method-not-allowed'
  | 'unauthorized'
  | 'forbidden'
  | 'login-binding'
  | 'conflict'
  | 'login-expired'
  | 'login-decided'
  | 'login-cancelled'
  | 'login-claimed'
  | 'login-not-scanned'
  | 'wrong-device'
  | 'wrong-identity'
  | 'invalid-signature'
  | 'invalid-nonce'
  | 'invalid-number'
  | 'unknown-device'
  | 'device-revoked'
  | 'timestamp-out-of-window'
  | 'qr-code-expired'
  | 'unsupported-protocol-version'
  | 'invalid-activation-code'
  | 'activation-code-used'
  | 'activation-code-expired'
  | 'invalid-public-key'
  | 'unknown-identity'
  | 'too-many-requests'
  | 'upgrade-required'
  | 'pairing-binding'
  | 'pairing-expired'
  | 'pairing-ended'
  | 'pairing-claimed'
  | 'pairing-not-claimed'
  | 'invalid-push-subscription'
  | 'reauthentication-required'
  | 'internal';

/** The `type` URI for a problem code (RFC 9457 §3.1.1). */
export function problemType(code: ProblemCode): string {
  return `urn:mobile-key:problem:${code}`;
}

/** The JSON body of a problem response (RFC 9457 §3.1). */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

/**
 * An error that becomes an `application/problem+json` response in `app.onError`.
 * `detail` is shown to the client: never put an internal error message in it.
 */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(
    code: ProblemCode,
    status: number,
    title: string,
    options: { detail?: string; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(title);
    this.name = 'ProblemError'; // literally: the bundler may rename the class (wrangler.toml keep_names)
    this.code = code;
    this.status = status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  /** The RFC 9457 body for this error. */
  toBody(): ProblemBody {
    const body: ProblemBody = { type: problemType(this.code), title: this.message, status: this.status };
    if (this.detail !== undefined) body.detail = this.detail;
    return { ...body, ...this.extensions };
  }

  /** Plain data for crossing a Durable Object RPC boundary (errors lose their class there). */
  toJSON(): ProblemData {
    return { code: this.code, status: this.status, title: this.message, detail: this.detail };
  }

  static from(data: ProblemData): ProblemError {
    return new ProblemError(data.code, data.status, data.title, data.detail === undefined ? {} : { detail: data.detail });
  }
}

/** A problem as plain, structured-clonable data (the shape Durable Object RPC results carry). */
export interface ProblemData {
  code: ProblemCode;
  status: number;
  title: string;
  detail?: string | undefined;
}

/** Builds the `application/problem+json` response for an error, with `Cache-Control: no-store`. */
export function problemResponse(error: ProblemError): Response {
  return new Response(JSON.stringify(error.toBody()), {
    status: error.status,
    headers: {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...error.headers,
    },
  });
}

/** Shorthands for the problems most endpoints raise. */
export const problems = {
  notFound: (detail = 'No such resource.') => new ProblemError('not-found', 404, 'Not found', { detail }),
  malformedJson: () =>
    new ProblemError('malformed-json', 400, 'Malformed JSON', { detail: 'The request body is not valid JSON.' }),
  invalidInput: (detail: string) => new ProblemError('invalid-input', 400, 'Invalid input', { detail }),
  tooLarge: (limit: number) =>
    new ProblemError('payload-too-large', 413, 'Payload too large', {
      detail: `The request body exceeds ${limit} bytes.`,
    }),
  unsupportedMediaType: () =>
    new ProblemError('unsupported-media-type', 415, 'Unsupported media type', {
      detail: 'Send the body as application/json.',
    }),
  loginBinding: () =>
    new ProblemError('login-binding', 403, 'Not the browser that started this login', {
      detail: 'This login can only be watched from the browser that started it.',
    }),
} as const;
