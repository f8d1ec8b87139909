/**
 * The operator API, mounted at `/admin`. Every request carries `Authorization: Bearer
 * <ADMIN_TOKEN>` (RFC 6750 §2.1), compared in constant time. JSON in and out, snake_case,
 * times in epoch milliseconds, errors `application/problem+json`.
 *
 * - `POST /admin/identities` — create an identity → 201 `{sub, activation_code, activation_url, expires_at}`
 * - `GET /admin/identities?email=E` — find identities by e-mail → `{identities: [...]}`
 * - `GET /admin/identities/:sub` — one identity → `{sub, claims, created_at}`
 * - `POST /admin/identities/:sub/activation-codes` — a new code (older unused ones stop working) → 201
 * - `GET /admin/identities/:sub/devices` — `{sub, devices: [...]}`
 * - `GET /admin/identities/:sub/audit` — `{sub, events: [...]}` newest first
 * - `POST /admin/devices/:id/revoke` — idempotent → `{device_id, sub, revoked_at}`
 * - `POST /admin/clients` — register a relying service → 201 `{client_id, client_secret?, ...}`
 *   (`subject_type`: `public` by default, or `pairwise` — OIDC Core §8.1, redirect URIs on one host)
 * - `GET /admin/clients/:client_id` — one relying service's registration (never its secret)
 * - `PATCH /admin/clients/:client_id` — change name, redirect URIs, logout registration
 *   (`post_logout_redirect_uris`, `backchannel_logout_uri`, `frontchannel_logout_uri`; null clears a URI)
 *   `grant_types` (`["authorization_code"]`, the default, or with `"refresh_token"`) or
 *   `require_number_matching`
 * - `GET /admin/clients/:client_id/subjects/:sub` — the identity behind a `sub` this client
 *   sees (a pairwise client's own) → `{client_id, subject_type, sub, identity_sub}`
 * - `GET /admin/identities/:sub/subjects/:client_id` — the `sub` this client sees for the identity
 *   → `{sub, client_id, subject_type, client_sub}`
 * - `/admin/operators` — operator roles of the console (src/console/operator-api.ts)
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { displayName } from '../http/names.ts';
import { ProblemError } from '../http/problem.ts';
import { readJson } from '../http/json.ts';
import { getClient, registerClient, SectorError, updateClient, type Client, type LogoutRegistration } from '../oidc/clients.ts';
import { localSubject, pairwiseSecret, sectorIdentifierOf, subjectFor, SUBJECT_TYPES } from '../oidc/subject.ts';
import { operatorApi } from '../console/operator-api.ts';
import { sha256Hex, timingSafeEqual } from '../session/crypto.ts';
import { activationCodeTtlSeconds, activationUrl, issueActivationCode } from './activation.ts';
import { listAudit, recordAudit } from './audit.ts';
import { endSessionsOfDevice } from '../browser-session/api.ts';
import { listDevices, revokeDevice, type Device } from './devices.ts';
import { createIdentity, findIdentitiesByEmail, getIdentity, type Identity, type IdentityClaims } from './identities.ts';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** A claim value: trimmed, non-empty, bounded. */
const text = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max));

export const IdentityBody = v.strictObject({
  given_name: text(100),
  family_name: text(100),
  birthdate: v.optional(
    v.pipe(v.string(), v.isoDate('birthdate must be YYYY-MM-DD'), v.check((d) => !Number.isNaN(Date.parse(d)), 'birthdate is not a date')),
  ),
  email: v.optional(v.pipe(v.string(), v.trim(), v.email('email is not an e-mail address'), v.maxLength(254))),
  phone_number: v.optional(v.pipe(v.string(), v.trim(), v.regex(/^\+?[0-9 ()-]{3,32}$/, 'phone_number must be digits, preferably E.164 (+420…)'))),
  address: v.optional(
    v.strictObject({
      formatted: v.optional(text(500)),
      street_address: v.optional(text(200)),
      locality: v.optional(text(100)),
      postal_code: v.optional(text(20)),
      country: v.optional(text(100)),
    }),
  ),
});

/**
 * One registered URI (a redirect URI, a post-logout redirect URI, a logout URI): absolute http(s),
 * no fragment (RFC 6749 §3.1.2; Back-Channel Logout §2.2; Front-Channel Logout §2), no
 * credentials, https except on loopback (RFC 9700 §2.6), at most 2000 characters.
 */
const registeredUri = (what: string) =>
  v.pipe(
    v.string(),
    v.url(`each ${what} must be an absolute URL`),
    v.maxLength(2000, `a ${what} must be at most 2000 characters`),
    v.check((uri) => !uri.includes('#'), `a ${what} must not have a fragment (RFC 6749 §3.1.2)`),
    v.check((uri) => !URL.parse(uri)?.username && !URL.parse(uri)?.password, `a ${what} must not carry credentials`),
    v.check(
      (uri) => URL.parse(uri)?.protocol !== 'http:' || ['localhost', '127.0.0.1', '[::1]'].includes(URL.parse(uri)!.hostname),
      `a ${what} must use https, except on loopback (RFC 9700 §2.6)`,
    ),
    v.check((uri) => /^https?:$/.test(URL.parse(uri)?.protocol ?? 'https:'), `a ${what} must be http or https`),
  );

/** A list of registered URIs: distinct, at most 20, at least `min`. */
const uriList = (what: string, min: number) =>
  v.pipe(
    v.array(registeredUri(what)),
    v.minLength(min, `at least one ${what} is required`),
    v.maxLength(20),
    v.check((uris) => new Set(uris).size === uris.length, `${what}s must not repeat`),
  );

/** The logout registration members (RP-Initiated, Back-Channel and Front-Channel Logout 1.0). */
const LOGOUT_FIELDS = {
  post_logout_redirect_uris: v.optional(uriList('post-logout redirect URI', 0)),
  // null clears a registered URI (on update)
  backchannel_logout_uri: v.optional(v.nullable(registeredUri('back-channel logout URI'))),
  frontchannel_logout_uri: v.optional(v.nullable(registeredUri('front-channel logout URI'))),
  // Logout tokens and front-channel requests always carry sid: only `true` is accepted.
  backchannel_logout_session_required: v.optional(v.literal(true, 'backchannel_logout_session_required is always true here')),
  frontchannel_logout_session_required: v.optional(v.literal(true, 'frontchannel_logout_session_required is always true here')),
};

/**
 * `grant_types` (RFC 7591 §2): `authorization_code` (always: the only way a grant starts here)
 * and optionally `refresh_token` (then `offline_access` can be granted, OIDC Core §11).
 */
const GRANT_TYPES = v.pipe(
  v.array(v.picklist(['authorization_code', 'refresh_token'], 'grant_types may hold only authorization_code and refresh_token')),
  v.check((types) => types.includes('authorization_code'), 'grant_types must include authorization_code'),
  v.check((types) => new Set(types).size === types.length, 'grant_types must not repeat'),
);

export const ClientBody = v.strictObject({
  name: displayName('name', 100),
  redirect_uris: uriList('redirect URI', 1),
  public: v.optional(v.boolean(), false),
  id_token_alg: v.optional(v.picklist(['RS256', 'ES256'])),
  grant_types: v.optional(GRANT_TYPES),
  subject_type: v.optional(v.picklist(SUBJECT_TYPES, 'subject_type must be public or pairwise')),
  // The login page shows a number the phone must pick (docs/relying-services.md).
  require_number_matching: v.optional(v.boolean()),
  ...LOGOUT_FIELDS,
});

/**
 * {@link ClientBody} with the pairwise rule (OIDC Core §8.1): without a `sector_identifier_uri`
 * (not offered) the sector is the redirect URIs' one host, so they must share one.
 */
export const ClientRegistrationBody = v.pipe(
  ClientBody,
  v.forward(
    v.check(
      (body) => body.subject_type !== 'pairwise' || sectorIdentifierOf(body.redirect_uris) !== null,
      'the redirect URIs of a pairwise client must all be on one host (its sector identifier)',
    ),
    ['redirect_uris'],
  ),
);

/** The body of `PATCH /admin/clients/:client_id` (and the console's edit form): every member optional. */
export const ClientUpdateBody = v.strictObject({
  name: v.optional(displayName('name', 100)),
  redirect_uris: v.optional(uriList('redirect URI', 1)),
  id_token_alg: v.optional(v.picklist(['RS256', 'ES256'])),
  grant_types: v.optional(GRANT_TYPES),
  require_number_matching: v.optional(v.boolean()),
  ...LOGOUT_FIELDS,
});

/** The operator API routes, mounted at `/admin` (see the module comment). */
export const adminRoutes = new Hono<{ Bindings: Env }>();

adminRoutes.use('*', async (c, next) => {
  const header = c.req.header('Authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const expected = c.env.ADMIN_TOKEN;
  // Hashing both first keeps the comparison constant-time in the token's length too.
  const ok = !!match && !!expected && timingSafeEqual(await sha256Hex(match[1]!), await sha256Hex(expected));
  if (!ok) {
    throw new ProblemError('unauthorized', 401, 'Unauthorized', {
      detail: 'Send the operator token as Authorization: Bearer <ADMIN_TOKEN>.',
      headers: { 'WWW-Authenticate': match ? 'Bearer realm="admin", error="invalid_token"' : 'Bearer realm="admin"' },
    });
  }
  await next();
});

adminRoutes.post('/identities', async (c) => {
  const claims: IdentityClaims = await readJson(c.req.raw, IdentityBody);
  const now = Date.now();
  const identity = await createIdentity(c.env.DB, claims, now);
  await recordAudit(c.env.DB, { type: 'identity.created', sub: identity.sub }, now);
  const { code, expiresAt } = await issueActivationCode(c.env.DB, identity.sub, activationCodeTtlSeconds(c.env), now);
  return c.json(
    { sub: identity.sub, activation_code: code, activation_url: activationUrl(c.env.ISSUER, code), expires_at: expiresAt },
    201,
    NO_STORE,
  );
});

adminRoutes.get('/identities', async (c) => {
  const email = c.req.query('email');
  if (!email) throw new ProblemError('invalid-input', 400, 'Invalid input', { detail: 'Give ?email= to search by e-mail.' });
  const identities = await findIdentitiesByEmail(c.env.DB, email);
  return c.json({ identities: identities.map(identityJson) }, 200, NO_STORE);
});

adminRoutes.get('/identities/:sub', async (c) => {
  const identity = await requireIdentity(c.env.DB, c.req.param('sub'));
  return c.json(identityJson(identity), 200, NO_STORE);
});

adminRoutes.post('/identities/:sub/activation-codes', async (c) => {
  const identity = await requireIdentity(c.env.DB, c.req.param('sub'));
  const { code, expiresAt } = await issueActivationCode(c.env.DB, identity.sub, activationCodeTtlSeconds(c.env));
  return c.json(
    { sub: identity.sub, activation_code: code, activation_url: activationUrl(c.env.ISSUER, code), expires_at: expiresAt },
    201,
    NO_STORE,
  );
});

adminRoutes.get('/identities/:sub/devices', async (c) => {
  const identity = await requireIdentity(c.env.DB, c.req.param('sub'));
  const devices = await listDevices(c.env.DB, identity.sub);
  return c.json({ sub: identity.sub, devices: devices.map(deviceJson) }, 200, NO_STORE);
});

adminRoutes.get('/identities/:sub/audit', async (c) => {
  const identity = await requireIdentity(c.env.DB, c.req.param('sub'));
  const events = await listAudit(c.env.DB, { sub: identity.sub, limit: Number(c.req.query('limit') ?? 100) || 100 });
  return c.json(
    {
      sub: identity.sub,
      events: events.map((e) => ({ at: e.at, type: e.type, device_id: e.deviceId, client_id: e.clientId, detail: e.detail })),
    },
    200,
    NO_STORE,
  );
});

adminRoutes.route('/operators', operatorApi);

adminRoutes.post('/devices/:id/revoke', async (c) => {
  const now = Date.now();
  const result = await revokeDevice(c.env.DB, c.req.param('id'), undefined, now);
  if (!result) throw new ProblemError('unknown-device', 404, 'Unknown device', { detail: 'No device has this id.' });
  // Also on a repeat: ending the sessions it approved is idempotent and may have failed before.
  await endSessionsOfDevice(c.env, result.device.id);
  return c.json(deviceJson(result.device), 200, NO_STORE);
});

adminRoutes.post('/clients', async (c) => {
  const body = await readJson(c.req.raw, ClientRegistrationBody);
  if (body.subject_type === 'pairwise' && !pairwiseSecret(c.env)) {
    throw new ProblemError('conflict', 409, 'Pairwise subjects not configured', {
      detail: 'Set the PAIRWISE_SECRET secret (docs/deploy.md) before registering a pairwise client.',
    });
  }
  const { client, clientSecret } = await registerClient(c.env.DB, {
    name: body.name,
    redirectUris: body.redirect_uris,
    public: body.public,
    ...(body.id_token_alg ? { idTokenAlg: body.id_token_alg } : {}),
    ...(body.grant_types ? { grantTypes: body.grant_types } : {}),
    ...(body.subject_type ? { subjectType: body.subject_type } : {}),
    ...(body.require_number_matching !== undefined ? { requireNumberMatching: body.require_number_matching } : {}),
    ...logoutRegistration(body),
  });
  await recordAudit(c.env.DB, { type: 'client.registered', clientId: client.clientId, detail: { name: client.name } });
  return c.json({ ...clientJson(client), ...(clientSecret ? { client_secret: clientSecret } : {}) }, 201, NO_STORE);
});

adminRoutes.get('/clients/:client_id', async (c) => {
  const client = await getClient(c.env.DB, c.req.param('client_id'));
  if (!client) throw unknownClient();
  return c.json(clientJson(client), 200, NO_STORE);
});

adminRoutes.patch('/clients/:client_id', async (c) => {
  const body = await readJson(c.req.raw, ClientUpdateBody);
  let client: Client | null;
  try {
    client = await updateClient(c.env.DB, c.req.param('client_id'), {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.redirect_uris !== undefined ? { redirectUris: body.redirect_uris } : {}),
      ...(body.id_token_alg !== undefined ? { idTokenAlg: body.id_token_alg } : {}),
      ...(body.grant_types !== undefined ? { grantTypes: body.grant_types } : {}),
      ...(body.require_number_matching !== undefined ? { requireNumberMatching: body.require_number_matching } : {}),
      ...logoutRegistration(body),
    });
  } catch (error) {
    if (!(error instanceof SectorError)) throw error;
    throw new ProblemError('invalid-input', 400, 'Invalid input', {
      detail: 'redirect_uris: a pairwise client keeps its redirect URIs on the host of its sector identifier.',
    });
  }
  if (!client) throw unknownClient();
  await recordAudit(c.env.DB, { type: 'client.updated', clientId: client.clientId, detail: { fields: Object.keys(body).sort() } });
  return c.json(clientJson(client), 200, NO_STORE);
});

adminRoutes.get('/clients/:client_id/subjects/:sub', async (c) => {
  const client = await getClient(c.env.DB, c.req.param('client_id'));
  if (!client) throw unknownClient();
  const sub = c.req.param('sub');
  const local = await localSubject(c.env.DB, client, sub);
  const identity = local === undefined ? null : await getIdentity(c.env.DB, local);
  if (!identity) {
    throw new ProblemError('unknown-identity', 404, 'Unknown identity', { detail: 'This service was never given this sub for anyone.' });
  }
  return c.json({ client_id: client.clientId, subject_type: client.subjectType, sub, identity_sub: identity.sub }, 200, NO_STORE);
});

adminRoutes.get('/identities/:sub/subjects/:client_id', async (c) => {
  const identity = await requireIdentity(c.env.DB, c.req.param('sub'));
  const client = await getClient(c.env.DB, c.req.param('client_id'));
  if (!client) throw unknownClient();
  const clientSub = await subjectFor(c.env, client, identity.sub);
  return c.json({ sub: identity.sub, client_id: client.clientId, subject_type: client.subjectType, client_sub: clientSub }, 200, NO_STORE);
});

function unknownClient(): ProblemError {
  return new ProblemError('not-found', 404, 'Unknown client', { detail: 'No relying service has this client_id.' });
}

/** The logout members of a validated body, as {@link LogoutRegistration} (absent stays absent). */
function logoutRegistration(body: {
  post_logout_redirect_uris?: string[] | undefined;
  backchannel_logout_uri?: string | null | undefined;
  frontchannel_logout_uri?: string | null | undefined;
}): LogoutRegistration {
  return {
    ...(body.post_logout_redirect_uris !== undefined ? { postLogoutRedirectUris: body.post_logout_redirect_uris } : {}),
    ...(body.backchannel_logout_uri !== undefined ? { backchannelLogoutUri: body.backchannel_logout_uri } : {}),
    ...(body.frontchannel_logout_uri !== undefined ? { frontchannelLogoutUri: body.frontchannel_logout_uri } : {}),
  };
}

/** A client as the operator API shows it (never its secret, which is only returned at registration). */
function clientJson(client: Client) {
  return {
    client_id: client.clientId,
    name: client.name,
    redirect_uris: client.redirectUris,
    public: client.public,
    id_token_alg: client.idTokenAlg,
    grant_types: client.grantTypes,
    created_at: client.createdAt,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: true,
    frontchannel_logout_uri: client.frontchannelLogoutUri,
    frontchannel_logout_session_required: true,
    subject_type: client.subjectType,
    ...(client.sectorIdentifier ? { sector_identifier: client.sectorIdentifier } : {}),
    require_number_matching: client.requireNumberMatching,
  };
}

async function requireIdentity(db: D1Database, sub: string): Promise<Identity> {
  const identity = await getIdentity(db, sub);
  if (!identity) throw new ProblemError('unknown-identity', 404, 'Unknown identity', { detail: 'No identity has this sub.' });
  return identity;
}

function identityJson(identity: Identity) {
  return { sub: identity.sub, claims: identity.claims, created_at: identity.createdAt };
}

function deviceJson(device: Device) {
  return {
    device_id: device.id,
    sub: device.sub,
    name: device.name,
    browser: device.platform.browser ?? null,
    os: device.platform.os ?? null,
    public_jwk: device.publicJwk,
    created_at: device.createdAt,
    last_used_at: device.lastUsedAt,
    revoked_at: device.revokedAt,
  };
}
