/**
 * Scopes, the claims each releases, and the identity values behind them (OIDC Core §5.4).
 * Pure functions: no Workers API.
 */
import type { IdentityClaims } from '../identity/identities.ts';

/**
 * The claims each scope releases. Only these claims ever leave the service, and only for the
 * scopes the relying service asked for. `openid` alone releases just `sub`.
 */
export const SCOPE_CLAIMS = {
  openid: [],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'birthdate', 'gender', 'locale'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  // Releases no claim: asks for a refresh token (OIDC Core §11; granted only with prompt=consent, src/oidc/refresh.ts).
  offline_access: [],
} as const satisfies Record<string, readonly string[]>;

export type Scope = keyof typeof SCOPE_CLAIMS;

/** The scopes this provider knows, in a stable order (discovery `scopes_supported`). */
export const SUPPORTED_SCOPES = Object.keys(SCOPE_CLAIMS) as Scope[];

/**
 * The acr value of every login here: eIDAS level of assurance **substantial** (Commission
 * Implementing Regulation (EU) 2015/1502), the level of the national mobile key — possession of
 * an enrolled device key, unlocked on the device, after identity proofing at the counter.
 * Not `high`: the key may be a software key, not certified hardware. The URI is the one eIDAS
 * nodes and the Czech national identity point use.
 */
export const ACR_SUBSTANTIAL = 'http://eidas.europa.eu/LoA/substantial';

/**
 * Authentication methods (RFC 8176): proof of possession of the enrolled device key (`pop`).
 * Not `hwk`: a mobile key may be a software key. Not `user`: the signature proves the key, not
 * that a person was present when it signed.
 */
export const AMR = ['pop'] as const;

/** Splits a `scope` parameter (RFC 6749 §3.3) into its distinct values, in order. */
export function parseScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

/** The requested scopes this provider knows (unknown ones are ignored, RFC 6749 §3.3). */
export function knownScopes(requested: string[]): Scope[] {
  return SUPPORTED_SCOPES.filter((scope) => requested.includes(scope));
}

/** The claim names a set of scopes releases, in a stable order (what the phone shows). */
export function claimsForScopes(scopes: readonly string[]): string[] {
  return SUPPORTED_SCOPES.filter((scope) => scopes.includes(scope)).flatMap((scope) => [...SCOPE_CLAIMS[scope]]);
}

/**
 * The person's claims limited to the granted scopes: `sub` and, of the claims those scopes
 * release, the ones the identity holds (OIDC Core §5.3.2). A claim outside the scopes never appears.
 * @param sub the subject identifier.
 * @param claims everything held about the person (D1 `identities.claims`).
 * @param scopes the granted scopes.
 * @param requested claim names asked for individually by the `claims` parameter (OIDC Core
 *   §5.5), released like those of the scopes (only names a scope could release; see claims-request.ts).
 */
export function releasedClaims(sub: string, claims: IdentityClaims, scopes: readonly string[], requested: readonly string[] = []): Record<string, unknown> {
  const released: Record<string, unknown> = { sub };
  const names = [...new Set([...claimsForScopes(scopes), ...requested])];
  for (const name of names) {
    if (claims[name] !== undefined && claims[name] !== null) released[name] = claims[name];
  }
  if (names.includes('name') && released.name === undefined && (claims.given_name || claims.family_name)) {
    // A display name is what most relying services show first; derive it when none is held.
    released.name = [claims.given_name, claims.family_name].filter(Boolean).join(' ');
  }
  return released;
}

/**
 * Of the claim names a login would release, those this person actually has a value for — what
 * the phone should list (with `offline_access` when a refresh token is granted), since a claim without a value is never released (see
 * {@link releasedClaims}; `name` counts when it can be derived from the given or family name).
 * @param names claim names from {@link claimsForScopes}, in order.
 * @param claims everything held about the person.
 */
export function heldClaimNames(names: readonly string[], claims: IdentityClaims): string[] {
  return names.filter((name) =>
    // Not a claim: ongoing access (a refresh token) the person must see they consent to (OIDC Core §11).
    name === 'offline_access' ||
    name === 'name'
      ? Boolean(claims.name ?? claims.given_name ?? claims.family_name)
      : claims[name] !== undefined && claims[name] !== null,
  );
}
