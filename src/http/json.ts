import * as v from 'valibot';
import { problems } from './problem.ts';

/** Largest JSON body any endpoint accepts, in bytes. */
export const MAX_JSON_BYTES = 16 * 1024;

/**
 * Reads a request body as JSON and validates it against a valibot schema.
 *
 * @param request the incoming request; its body is consumed.
 * @param schema the expected shape.
 * @param maxBytes the largest accepted body, in bytes (default {@link MAX_JSON_BYTES}).
 * @returns the validated value.
 * @throws {ProblemError} 415 `unsupported-media-type` unless the content type is JSON,
 *   413 `payload-too-large`, 400 `malformed-json`, 400 `invalid-input` (with the first issue).
 */
export async function readJson<const S extends v.GenericSchema>(
  request: Request,
  schema: S,
  maxBytes = MAX_JSON_BYTES,
): Promise<v.InferOutput<S>> {
  const type = request.headers.get('Content-Type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) throw problems.unsupportedMediaType();
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > maxBytes) throw problems.tooLarge(maxBytes);
  const text = await readLimited(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problems.malformedJson();
  }
  return parseInput(schema, value);
}

/**
 * Validates an already-parsed value against a schema.
 * @throws {ProblemError} 400 `invalid-input` naming the first failing field.
 */
export function parseInput<const S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue ? v.getDotPath(issue) : null;
    throw problems.invalidInput(path ? `${path}: ${issue?.message}` : (issue?.message ?? 'Invalid input.'));
  }
  return result.output;
}

/** Reads at most `maxBytes` of a body as UTF-8, without trusting `Content-Length`. */
async function readLimited(request: Request, maxBytes: number): Promise<string> {
  const bytes = await readBytesLimited(request, maxBytes);
  if (!bytes) throw problems.tooLarge(maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw problems.malformedJson();
  }
}

/**
 * Reads a request body, stopping (and cancelling the stream) as soon as it exceeds `maxBytes`,
 * so a huge or chunked body without `Content-Length` is never buffered whole.
 * @param maxBytes the largest accepted body, in bytes.
 * @returns the body's bytes, or null when it is larger than `maxBytes`.
 */
export async function readBytesLimited(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

