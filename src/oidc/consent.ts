/**
 * Consent during a single-sign-on login (issue 12): a service that asks for claims beyond
 * `sub` and has no remembered ("always") consent that covers them is not answered silently.
 * With `prompt=none` it gets `consent_required` (OIDC Core §3.1.2.6); otherwise the browser
 * gets a one-click page (no phone) — "this time only", "always for this service" or "cancel" —
 * which posts the original request back to `POST /authorize/consent` with the choice.
 *
 * The page's form carries an HMAC-SHA256 of the request keyed by the browser-session cookie's
 * value (HttpOnly, SameSite=Lax), so no other site or browser can post a consent.
 * A login approved on the phone is its own consent: the phone lists the claims and asks
 * "for this login only" / "always" (src/mobile/routes.ts records it).
 */
import { claimLabel } from '../../client/app/lib/claims.ts';
import type { AuthorizationRequest } from './authorize.ts';
import { claimsForScopes } from './claims.ts';
import { requestedClaimNames } from './claims-request.ts';
import { escapeHtml, htmlDocument } from './html.ts';

/** The hidden fields the consent page adds to the request it posts back. */
export const CONSENT_FIELD = 'mk_consent';
export const CONSENT_TOKEN_FIELD = 'mk_consent_token';

/** The person's answer on the page. */
export type ConsentChoice = 'once' | 'always' | 'deny';

/** The claim names a login for this request releases (scopes and the `claims` parameter), as the phone lists them. */
export function loginClaimNames(request: AuthorizationRequest): string[] {
  return [...new Set([
    ...claimsForScopes(request.scope.split(' ')),
    ...requestedClaimNames(request.claims, 'userinfo'),
    ...requestedClaimNames(request.claims, 'id_token'),
  ])];
}

/**
 * The form token: HMAC-SHA256 (base64url) of the request's parameters, keyed by the browser
 * session cookie's value.
 * @param params the authorization request's parameters, without the consent fields, in order.
 */
export async function consentToken(sessionCookie: string, params: URLSearchParams): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(sessionCookie), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`consent\n${params.toString()}`)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Splits a posted consent form into the original request's parameters and the choice.
 * @returns null when the choice or the token is missing or repeated.
 */
export function readConsentForm(form: URLSearchParams): { params: URLSearchParams; choice: ConsentChoice; token: string } | null {
  const choices = form.getAll(CONSENT_FIELD);
  const tokens = form.getAll(CONSENT_TOKEN_FIELD);
  const choice = choices[0];
  if (choices.length !== 1 || tokens.length !== 1 || (choice !== 'once' && choice !== 'always' && choice !== 'deny')) return null;
  const params = new URLSearchParams();
  for (const [name, value] of form) if (name !== CONSENT_FIELD && name !== CONSENT_TOKEN_FIELD) params.append(name, value);
  return { params, choice, token: tokens[0]! };
}

const TEXT = {
  cs: {
    title: 'Souhlas s předáním údajů',
    asks: (client: string) => `Služba ${client} žádá o tyto údaje:`,
    once: 'Povolit jen pro toto přihlášení',
    always: 'Povolit vždy pro tuto službu',
    deny: 'Nepovolit a vrátit se',
    note: 'Trvalý souhlas můžete kdykoli odvolat ve svém účtu.',
  },
  en: {
    title: 'Consent to share your details',
    asks: (client: string) => `${client} asks for these details:`,
    once: 'Allow for this login only',
    always: 'Always allow for this service',
    deny: 'Do not allow and go back',
    note: 'You can withdraw a permanent consent at any time in your account.',
  },
} as const;

/**
 * The one-click consent page: the service's name (validated at registration), the claims in
 * the person's language, and a form that posts the request back with the choice.
 * @param params the original request's parameters (re-sent as hidden fields, escaped).
 * @param locale `cs` or `en`.
 */
export function consentPage(clientName: string, claims: readonly string[], params: URLSearchParams, token: string, locale: 'cs' | 'en'): string {
  const t = TEXT[locale];
  const hidden = [...params].map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`).join('');
  const items = claims.map((claim) => `<li data-claim="${escapeHtml(claim)}">${escapeHtml(claimLabel(claim, locale))}</li>`).join('');
  const button = (choice: ConsentChoice, label: string) =>
    `<button class="button" type="submit" name="${CONSENT_FIELD}" value="${choice}" id="consent-${choice}">${escapeHtml(label)}</button>`;
  return htmlDocument(
    t.title,
    `<main><h1>${escapeHtml(t.title)}</h1>
<p id="consent-client">${escapeHtml(t.asks(clientName))}</p>
<ul id="consent-claims">${items}</ul>
<form method="post" action="/authorize/consent">${hidden}<input type="hidden" name="${CONSENT_TOKEN_FIELD}" value="${escapeHtml(token)}">
<p>${button('once', t.once)}</p>
<p>${button('always', t.always)}</p>
<p>${button('deny', t.deny)}</p>
</form>
<p>${escapeHtml(t.note)}</p></main>`,
    locale,
  );
}
