/**
 * Shared steps for the logout tests: clients with logout registration, ID tokens as hints
 * (signed by our own signer), and the pages' parts a person or a checker looks at.
 */
import { env } from 'cloudflare:workers';
import { SignJWT, generateKeyPair } from 'jose';
import { registerClient, type LogoutRegistration } from '../../src/oidc/clients.ts';
import { signIdToken } from '../../src/oidc/idtoken.ts';
import { signingKey } from '../../src/oidc/keys.ts';
import { randomToken } from '../../src/session/crypto.ts';
import { call } from './helpers.ts';

/** A client with a unique registered post-logout URI (and whatever else is given). */
export async function logoutClient(extra: LogoutRegistration = {}) {
  const base = `https://rp-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`;
  const postLogout = `${base}/bye`;
  const { client } = await registerClient(env.DB, {
    name: 'Portál občana',
    redirectUris: [`${base}/cb`],
    postLogoutRedirectUris: [postLogout, `${base}/bye?lang=cs`],
    ...extra,
  });
  return { client, base, postLogout };
}

/** An ID token we issued to `clientId` with our own signer (optionally long expired). */
export function idTokenFor(clientId: string, sub = 'sub-jana', options: { expired?: boolean } = {}) {
  const now = options.expired ? Date.now() - 2 * 24 * 3600_000 : Date.now();
  return signIdToken(env, { sub, clientId, alg: 'RS256', authTime: now, accessToken: 'at', now });
}

/** A JWT signed with our RS256 key: an ID token with these claims (iss, sub, aud overridable). */
export async function signedWithOurKey(claims: Record<string, unknown>, typ = 'JWT') {
  const key = await signingKey(env, 'RS256');
  return new SignJWT({ iss: env.ISSUER, sub: 'sub-jana', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.key);
}

/** A token that looks like ours but is signed with a key we never had. */
export async function forgedToken(clientId: string) {
  const { privateKey } = await generateKeyPair('RS256');
  const key = await signingKey(env, 'RS256');
  return new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).setIssuer(env.ISSUER)
    .setSubject('sub-jana').setAudience(clientId).setIssuedAt().setExpirationTime('10m').sign(privateKey);
}

/** GET /logout with these parameters (no redirects followed). */
export function logoutGet(params: Record<string, string>, headers: Record<string, string> = {}) {
  return call(`/logout?${new URLSearchParams(params)}`, { redirect: 'manual', headers });
}

/** POST /logout with a form. */
export function logoutPost(params: Record<string, string>, headers: Record<string, string> = {}) {
  return call('/logout', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
}

/** The hidden fields of the confirmation page's form. */
export function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'");
  }
  return fields;
}

/** The `name=value` of a Set-Cookie header. */
export function cookieOf(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`));
}

/** Text of the page's h1. */
export function heading(html: string): string | undefined {
  return /<h1>([^<]*)<\/h1>/.exec(html)?.[1];
}
