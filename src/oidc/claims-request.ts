/**
 * The `claims` request parameter (OIDC Core §5.5) and the level of assurance it may demand
 * (`acr`, OIDC Core §5.5.1.1; OpenID Connect Unmet Authentication Requirements 1.0). Pure
 * functions: no Workers API.
 */
import { ACR_SUBSTANTIAL, SCOPE_CLAIMS } from './claims.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';
import { OAuthError } from './errors.ts';

/** Longest `claims` parameter accepted, in characters. */
export const MAX_CLAIMS_LENGTH = 4096;

/** One requested claim: `null` (voluntary, default) or its options (§5.5.1). */
export interface ClaimOptions {
  essential?: boolean;
  value?: string;
  values?: string[];
}

/** The parsed request, as the LoginSession keeps it inside the authorization request. */
export interface ClaimsRequest {
  userinfo?: Record<string, ClaimOptions | null>;
  id_token?: Record<string, ClaimOptions | null>;
}

/** The claims a `claims` request may ask for: every claim a scope can release (never `national_id`). */
export const REQUESTABLE_CLAIMS: ReadonlySet<string> = new Set(Object.values(SCOPE_CLAIMS).flat());

function options(value: unknown): ClaimOptions | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new OAuthError('invalid_request', D.claimsInvalid);
  const v = value as Record<string, unknown>;
  const out: ClaimOptions = {};
  if (v.essential !== undefined) {
    if (typeof v.essential !== 'boolean') throw new OAuthError('invalid_request', D.claimsInvalid);
    out.essential = v.essential;
  }
  if (v.value !== undefined) {
    if (typeof v.value !== 'string') throw new OAuthError('invalid_request', D.claimsInvalid);
    out.value = v.value;
  }
  if (v.values !== undefined) {
    if (!Array.isArray(v.values) || !v.values.every((x) => typeof x === 'string')) throw new OAuthError('invalid_request', D.claimsInvalid);
    out.values = v.values as string[];
  }
  return out;
}

/**
 * Parses the `claims` parameter: a JSON object whose optional `userinfo` and `id_token` members
 * map claim names to `null` or `{essential, value, values}` (OIDC Core §5.5). Other members and
 * claims we never release are ignored (§5.5: "not understood … MUST be ignored"), except `acr`
 * in `id_token`, which {@link checkAcrRequest} judges.
 * @returns undefined when absent.
 * @throws {OAuthError} `invalid_request` when it is not such JSON or too long.
 */
export function parseClaimsRequest(raw: string | undefined): ClaimsRequest | undefined {
  if (raw === undefined) return undefined;
  if (raw.length > MAX_CLAIMS_LENGTH) throw new OAuthError('invalid_request', D.parameterTooLong);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new OAuthError('invalid_request', D.claimsInvalid);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OAuthError('invalid_request', D.claimsInvalid);
  const request: ClaimsRequest = {};
  for (const member of ['userinfo', 'id_token'] as const) {
    const claims = (parsed as Record<string, unknown>)[member];
    if (claims === undefined) continue;
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new OAuthError('invalid_request', D.claimsInvalid);
    const kept: Record<string, ClaimOptions | null> = {};
    for (const [name, value] of Object.entries(claims)) {
      const parsedOptions = options(value);
      if (REQUESTABLE_CLAIMS.has(name) || (member === 'id_token' && name === 'acr')) kept[name] = parsedOptions;
    }
    request[member] = kept;
  }
  return request;
}

/**
 * An essential `acr` request (OIDC Core §5.5.1.1) must be met: every login here is eIDAS
 * substantial, so a request naming only other levels (e.g. `high`) cannot be.
 * @throws {OAuthError} `unmet_authentication_requirements` (Unmet Authentication Requirements 1.0 §2).
 */
export function checkAcrRequest(request: ClaimsRequest | undefined): void {
  const acr = request?.id_token?.acr;
  if (!acr?.essential) return;
  const wanted = acr.values ?? (acr.value !== undefined ? [acr.value] : undefined);
  if (wanted && !wanted.includes(ACR_SUBSTANTIAL)) throw new OAuthError('unmet_authentication_requirements', D.acrUnmet);
}

/** The claim names requested for one target (`userinfo` or `id_token`), without `acr`. */
export function requestedClaimNames(request: ClaimsRequest | undefined, target: 'userinfo' | 'id_token'): string[] {
  return Object.keys(request?.[target] ?? {}).filter((name) => REQUESTABLE_CLAIMS.has(name));
}
