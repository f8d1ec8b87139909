/**
 * Reading `application/x-www-form-urlencoded` bodies at OAuth endpoints (RFC 6749 §3.2, §4.1.3).
 */
import { readBytesLimited } from '../http/json.ts';
import { OAuthError } from './errors.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';

/** Largest form body an OAuth endpoint accepts, in bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

/** True when the request declares a form body. */
export function isForm(request: Request): boolean {
  return /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers.get('Content-Type') ?? '');
}

/**
 * Reads a form body of at most {@link MAX_FORM_BYTES}.
 * @throws {OAuthError} `invalid_request` when the body is not a form, too large or not UTF-8.
 */
export async function readForm(request: Request): Promise<URLSearchParams> {
  if (!isForm(request)) throw new OAuthError('invalid_request', D.formContentType);
  if (Number(request.headers.get('Content-Length') ?? '0') > MAX_FORM_BYTES) {
    throw new OAuthError('invalid_request', D.formTooLarge, { status: 413 });
  }
  const buffer = await readBytesLimited(request, MAX_FORM_BYTES);
  if (!buffer) throw new OAuthError('invalid_request', D.formTooLarge, { status: 413 });
  try {
    return new URLSearchParams(new TextDecoder('utf-8', { fatal: true }).decode(buffer));
  } catch {
    throw new OAuthError('invalid_request', D.formNotUtf8);
  }
}
