/**
 * Human names for the OpenID Connect claims a login releases (OIDC Core §5.1 standard claims),
 * in Czech and English. Unknown claims are shown by their technical name rather than hidden.
 */
import type { Locale } from './i18n.ts';

const LABELS: Record<string, Record<Locale, string>> = {
  sub: { cs: 'Identifikátor osoby', en: 'Subject identifier' },
  name: { cs: 'Celé jméno', en: 'Full name' },
  given_name: { cs: 'Jméno', en: 'Given name' },
  family_name: { cs: 'Příjmení', en: 'Family name' },
  middle_name: { cs: 'Prostřední jméno', en: 'Middle name' },
  nickname: { cs: 'Přezdívka', en: 'Nickname' },
  preferred_username: { cs: 'Uživatelské jméno', en: 'Username' },
  profile: { cs: 'Adresa profilu', en: 'Profile page' },
  picture: { cs: 'Fotografie', en: 'Picture' },
  website: { cs: 'Webová stránka', en: 'Website' },
  email: { cs: 'E-mailová adresa', en: 'Email address' },
  email_verified: { cs: 'Ověření e-mailu', en: 'Email verified' },
  gender: { cs: 'Pohlaví', en: 'Gender' },
  birthdate: { cs: 'Datum narození', en: 'Date of birth' },
  zoneinfo: { cs: 'Časové pásmo', en: 'Time zone' },
  locale: { cs: 'Jazyk', en: 'Language' },
  phone_number: { cs: 'Telefonní číslo', en: 'Phone number' },
  phone_number_verified: { cs: 'Ověření telefonního čísla', en: 'Phone number verified' },
  address: { cs: 'Adresa', en: 'Address' },
  updated_at: { cs: 'Datum poslední změny údajů', en: 'Last updated' },
  // Not a claim: the service may keep access while you are away (a refresh token, OIDC Core §11).
  offline_access: { cs: 'Trvalý přístup, i když nebudete přihlášeni', en: 'Ongoing access while you are not logged in' },
};

/**
 * The label for one claim name.
 * @param claim an OIDC claim name such as `given_name`.
 * @returns the human name in `locale`, or the claim name itself when it is not a known claim.
 */
export function claimLabel(claim: string, locale: Locale): string {
  return Object.hasOwn(LABELS, claim) ? LABELS[claim]![locale] : claim;
}

/**
 * The claims to list for a person: known labels in the order given, duplicates removed. `sub`
 * is always released by OIDC and is listed like any other claim when the server names it.
 */
export function claimLabels(claims: readonly string[], locale: Locale): { claim: string; label: string }[] {
  return [...new Set(claims)].map((claim) => ({ claim, label: claimLabel(claim, locale) }));
}
