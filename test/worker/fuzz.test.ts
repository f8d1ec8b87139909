/**
 * Property-based fuzzing (fast-check) of the non-OAuth public endpoints: the phone API, the
 * operator API with and without its token, the page's session endpoints, the hosted page with
 * its "Start again", the page's WebSocket messages and arbitrary paths. For every input: never a
 * 5xx; every error is `application/problem+json` with a `urn:mobile-key:problem:` type and the
 * response's status (the hosted pages, which answer people, refuse with an HTML page); and
 * nothing changes — no identity, device, activation code, client or audit row appears or
 * changes, no login object is created, and the logins under attack keep their exact storage.
 * (Wrong activation codes do count towards the enrolment throttle: that is their purpose.)
 * The OAuth endpoints are fuzzed in fuzz-oidc.test.ts.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindingCookieName } from '../../src/session/binding.ts';
import { base64urlEncode } from '../../src/mobile/protocol.ts';
import { ADMIN, enrolTestDevice } from './identity-helpers.ts';
import { call, openPage, scanAs, startTestLogin, world, type TestDevice, type TestLogin } from './helpers.ts';

const RUNS = { numRuns: 80 };

// ── arbitraries ─────────────────────────────────────────────────────────────────────────────

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
/** Strings an attacker would try, plus random ones (printable and not). */
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '0', '-1', 'null', 'undefined', 'true', '%', '%zz', '../..', '\u0000', '💥', 'a'.repeat(300), '<script>', 'dev_x'),
  hex64,
);
/** Any JSON value, or a junk string, where a field is expected. */
const anyValue = fc.oneof(junk, fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.integer(), fc.boolean());
/** Valid-looking header values only: `Headers` refuses control characters in the test itself. */
const headerValue = junk.filter((s) => /^[\x20-\x7e]*$/.test(s));
/** 64 random bytes in base64url: a well-formed signature that verifies with no key. */
const forgedSignature = fc.uint8Array({ minLength: 64, maxLength: 64 }).map(base64urlEncode);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  undefined,
);

/** A request body: a JSON object built from `fields` (any subset), other JSON, or not JSON. */
function body(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record(fields, { requiredKeys: [] }).map((v) => JSON.stringify(v)) },
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 60 }),
    fc.uint8Array({ maxLength: 60 }),
    fc.constantFrom('', '{', '{"secret":', 'null', '[]', `{"x":"${'y'.repeat(17_000)}"}`),
  );
}

// ── checks ──────────────────────────────────────────────────────────────────────────────────

/** Never a 5xx; an error is a problem document whose `type` and `status` match. */
async function expectProblemOrOk(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers.get('Content-Type'), what).toBe('application/problem+json');
  if (what.startsWith('HEAD ')) return; // no body to read
  const problem = (await res.json()) as { type: string; title: string; status: number };
  expect(problem.type, what).toMatch(/^urn:mobile-key:problem:[a-z-]+$/);
  expect(problem.status, what).toBe(res.status);
  expect(typeof problem.title, what).toBe('string');
}

async function expectProblem(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  await expectProblemOrOk(res, what);
}

function send(method: string, path: string, options: { body?: string | Uint8Array; type?: string | undefined; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.type) headers['Content-Type'] = options.type;
  const hasBody = options.body !== undefined && method !== 'GET' && method !== 'HEAD';
  return call(path, { method, headers, ...(hasBody ? { body: options.body as BodyInit } : {}) });
}

// ── the fuzzed world ────────────────────────────────────────────────────────────────────────

let device: TestDevice;
let pending: TestLogin;
let scanned: TestLogin;
let nonce: string;
let before: string;

beforeAll(async () => {
  device = await enrolTestDevice('Fuzzed phone');
  pending = await startTestLogin();
  scanned = await startTestLogin();
  nonce = await scanAs(scanned, device);
});

describe('fuzzing the public endpoints changes nothing and never fails with a 5xx', () => {
  beforeAll(async () => {
    before = await world([pending, scanned]);
  });
  afterEach(async () => {
    expect(await world([pending, scanned])).toBe(before);
  });

  it('phone API: scan and answer', async () => {
    const ids = fc.oneof(fc.constant(pending.id), fc.constant(scanned.id), hex64, junk.map(encodeURIComponent));
    const fields = {
      version: fc.oneof({ weight: 3, arbitrary: fc.constant(2) }, anyValue),
      frame: fc.oneof(fc.constant(pending.frame), fc.constant(scanned.frame), fc.constant(pending.launch), anyValue),
      device_id: fc.oneof({ weight: 3, arbitrary: fc.constant(device.id) }, anyValue),
      signature: fc.oneof(forgedSignature, anyValue),
      decision: fc.oneof(fc.constantFrom('approve', 'deny'), anyValue),
      nonce: fc.oneof(fc.constant(nonce), anyValue),
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('scan', 'answer'), ids, body(fields), contentType, async (action, id, payload, type) => {
        const res = await send('POST', `/api/mobile/logins/${id}/${action}`, { body: payload, type });
        await expectProblem(res, `${action} ${id}`);
      }),
      RUNS,
    );
  });

  it('phone API: enrolment', async () => {
    const validJwk = { kty: 'EC', crv: 'P-256', x: device.publicJwk.x, y: device.publicJwk.y };
    const jwk = fc.oneof(
      fc.constant(validJwk),
      fc.record({ kty: fc.oneof(fc.constant('EC'), junk), crv: fc.oneof(fc.constant('P-256'), junk), x: anyValue, y: anyValue, d: anyValue }, { requiredKeys: [] }),
      anyValue,
    );
    const ip = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.99.${a}.${b}`);
    await fc.assert(
      fc.asyncProperty(body({ activation_code: anyValue, public_jwk: jwk, name: anyValue }), contentType, ip, async (payload, type, address) => {
        const res = await send('POST', '/api/mobile/enrol', { body: payload, type, headers: { 'CF-Connecting-IP': address } });
        await expectProblem(res, 'enrol');
      }),
      RUNS,
    );
  });

  it('operator API without a valid token: 401 for every route', async () => {
    const route = fc.constantFrom(
      ['POST', '/admin/identities'],
      ['GET', '/admin/identities?email=jana%40example.cz'],
      ['GET', `/admin/identities/${device.sub}`],
      ['POST', `/admin/identities/${device.sub}/activation-codes`],
      ['GET', `/admin/identities/${device.sub}/devices`],
      ['GET', `/admin/identities/${device.sub}/audit`],
      ['POST', `/admin/devices/${device.id}/revoke`],
      ['POST', '/admin/clients'],
      ['DELETE', '/admin/anything'],
    );
    const authorization = fc.oneof(
      fc.constant(undefined),
      headerValue,
      headerValue.map((t) => `Bearer ${t}`),
      headerValue.map((t) => `Basic ${t}`),
      headerValue.map((t) => `Bearer test-admin-token${t.trim() || 'x'}`), // never the token itself
      fc.constant('bearer  test-admin-token extra'),
    );
    await fc.assert(
      fc.asyncProperty(route, authorization, body({ given_name: anyValue, family_name: anyValue, name: anyValue, redirect_uris: anyValue }), async ([method, path], auth, payload) => {
        const res = await send(method!, path!, { body: payload, type: 'application/json', headers: auth === undefined ? {} : { Authorization: auth } });
        expect(res.status).toBe(401);
        expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="admin"/);
        await expectProblem(res, `${method} ${path}`);
      }),
      RUNS,
    );
  });

  it('operator API with the token: invalid identities and clients are refused, unknown ids are 404', async () => {
    const text = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim().length > 0);
    // Each body carries at least one invalid member, so none may be accepted.
    const badIdentity = fc
      .tuple(
        fc.record({ given_name: fc.oneof(text, anyValue), family_name: fc.oneof(text, anyValue), email: anyValue, birthdate: anyValue }, { requiredKeys: [] }),
        fc.oneof(
          fc.record({ given_name: fc.constantFrom('', '   ', 'x'.repeat(101), 7, null) }),
          fc.record({ email: junk.filter((s) => !s.includes('@')) }),
          fc.record({ birthdate: junk.filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)) }),
          fc.record({ phone_number: fc.constantFrom('call me', '+420 abc', '') }),
          fc.record({ address: fc.oneof(junk, fc.record({ planet: junk })) }),
          fc.record({ national_id: anyValue }),
        ),
      )
      .map(([base, broken]) => JSON.stringify({ given_name: 'Jana', family_name: 'Nováková', ...base, ...broken }));
    const badClient = fc
      .tuple(
        fc.record({ name: fc.oneof(text, anyValue), public: anyValue, id_token_alg: fc.oneof(fc.constantFrom('RS256', 'ES256'), anyValue) }, { requiredKeys: [] }),
        fc.oneof(
          fc.record({ redirect_uris: fc.constantFrom([], ['https://rp.example/cb#frag'], ['javascript:alert(1)'], ['not a url'], 'https://rp.example/cb', null) }),
          fc.record({ redirect_uris: fc.array(fc.webUrl(), { minLength: 21, maxLength: 22 }) }),
          fc.record({ name: fc.constantFrom('', ' ', 'n'.repeat(101), 3) }),
          fc.record({ secret: anyValue }),
          fc.record({ id_token_alg: fc.constantFrom('none', 'HS256', 'rs256') }),
        ),
      )
      .map(([base, broken]) => JSON.stringify({ name: 'RP', redirect_uris: ['https://rp.example/cb'], ...base, ...broken }));
    const unknown = junk.filter((s) => s !== device.sub && s !== device.id).map(encodeURIComponent);
    const request = fc.oneof(
      badIdentity.map((b) => ['POST', '/admin/identities', b] as const),
      badClient.map((b) => ['POST', '/admin/clients', b] as const),
      unknown.map((s) => ['GET', `/admin/identities/${s}`, ''] as const),
      unknown.map((s) => ['POST', `/admin/identities/${s}/activation-codes`, ''] as const),
      unknown.map((s) => ['GET', `/admin/identities/${s}/devices`, ''] as const),
      junk.map((l) => ['GET', `/admin/identities/${device.sub}/audit?limit=${encodeURIComponent(l)}`, ''] as const),
      unknown.map((s) => ['POST', `/admin/devices/${s}/revoke`, ''] as const),
      junk.map((e) => ['GET', `/admin/identities?email=${encodeURIComponent(e)}`, ''] as const),
      junk.map((p) => ['PUT', `/admin/${encodeURIComponent(p)}`, ''] as const),
    );
    await fc.assert(
      fc.asyncProperty(request, contentType, async ([method, path, payload], type) => {
        const res = await send(method, path, { body: payload, type: method === 'POST' ? (type ?? 'application/json') : type, headers: ADMIN });
        if (method === 'POST' || path.includes('/devices') || (method === 'GET' && /^\/admin\/identities\/[^/?]+$/.test(path))) {
          await expectProblem(res, `${method} ${path}`);
        } else {
          await expectProblemOrOk(res, `${method} ${path}`);
        }
      }),
      RUNS,
    );
  });

  it('session endpoints and hosted page: state, ws, cancel, continue, page and restart without the right browser', async () => {
    const logins = [pending, scanned];
    // Weighted towards the real logins with their own cookies: the combinations that matter.
    // `.` and `..` are dot segments, removed by the URL parser before the request leaves
    // (RFC 3986 §5.2.4): `/login/./state` is `/login/state`, the page of a login named "state".
    const segment = junk.map(encodeURIComponent).filter((s) => s !== '.' && s !== '..');
    const id = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(pending.id, scanned.id) }, hex64, segment);
    const cookieFor = (loginId: string) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(logins.find((l) => l.id === loginId)?.cookie) },
        fc.constantFrom(...logins.map((l) => l.cookie)),
        headerValue.map((v) => `${bindingCookieName(loginId)}=${v}`),
        headerValue,
      );
    const origin = fc.constantFrom(undefined, 'https://evil.example', 'null', new URL(env.ISSUER).origin);
    const endpoint = fc.constantFrom('GET state', 'GET ws', 'UPGRADE ws', 'POST cancel', 'GET continue', 'PUT state', 'DELETE cancel', 'GET page', 'POST restart');
    const input = id.chain((loginId) => fc.tuple(fc.constant(loginId), endpoint, cookieFor(loginId), origin));
    await fc.assert(
      fc.asyncProperty(input, async ([loginId, which, cookie, from]) => {
        const [method, name] = which.split(' ') as [string, string];
        const rightBrowser = logins.some((l) => l.id === loginId && l.cookie === cookie);
        // The right browser from the page's own origin (or with no Origin) may watch, continue and
        // cancel: a valid cancel is not fuzz. It is tried from another site instead.
        const changes = rightBrowser && (which === 'POST cancel' || which === 'UPGRADE ws' || which === 'POST restart');
        const sentOrigin = changes && (from === undefined || from === new URL(env.ISSUER).origin) ? 'https://evil.example' : from;
        const headers: Record<string, string> = {};
        if (cookie !== undefined) headers.Cookie = cookie;
        if (sentOrigin !== undefined) headers.Origin = sentOrigin;
        if (method === 'UPGRADE') headers.Upgrade = 'websocket';
        const path = name === 'page' ? `/login/${loginId}` : `/login/${loginId}/${name}`;
        const res = await call(path, { method: method === 'UPGRADE' ? 'GET' : method, headers, redirect: 'manual' });
        if (res.status === 101) {
          res.webSocket!.accept();
          res.webSocket!.close(1000);
          throw new Error(`a WebSocket was opened for ${which} without the right browser`);
        }
        if (rightBrowser && which === 'GET state') {
          expect(res.status).toBe(200);
          expect(((await res.json()) as { id: string }).id).toBe(loginId);
        } else if ((name === 'page' || name === 'restart') && loginId !== '') {
          // The hosted pages answer people, so their refusals are HTML pages, not problem documents.
          if (rightBrowser && which === 'GET page') expect(res.status).toBe(200);
          else expect([403, 404, 409], `${which} ${loginId.slice(0, 12)}`).toContain(res.status);
          expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
        } else if (rightBrowser && which === 'GET continue') {
          expect(res.status).toBe(303); // not approved: back to the page
          expect(res.headers.get('Location')).toBe(`/login/${loginId}`);
        } else {
          await expectProblem(res, `${which} ${loginId.slice(0, 12)}`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('page WebSocket: every message other than refresh/ping gets a problem, and the login stays as it was', async () => {
    const page = await openPage(pending.id, pending.cookie);
    expect(await page.next()).toMatchObject({ state: 'pending' });
    const message = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ type: fc.oneof(fc.constantFrom('refresh', 'approve', 'scan', 'expire', 'REFRESH', 'cancel ', 'ping'), junk), id: anyValue }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.constantFrom('x'.repeat(1025), `{"type":"refresh","pad":"${'p'.repeat(1100)}"}`, '{"type":"refresh"', '\u0000'),
      fc.uint8Array({ maxLength: 40 }).map((b) => b.buffer as ArrayBuffer),
    );
    // Cancel is the page's one state-changing message: valid input, not fuzz.
    const notCancel = message.filter((m) => {
      if (typeof m !== 'string') return true;
      try {
        return (JSON.parse(m) as { type?: unknown } | null)?.type !== 'cancel';
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(notCancel, async (m) => {
        page.send(m);
        const reply = await page.next();
        if (m === '{"type":"ping"}') {
          expect(reply).toEqual({ type: 'pong' });
          return;
        }
        const isRefresh = typeof m === 'string' && m.length <= 1024 && (() => {
          try {
            return (JSON.parse(m) as { type?: unknown } | null)?.type === 'refresh';
          } catch {
            return false;
          }
        })();
        if (isRefresh) {
          expect(reply).toMatchObject({ type: 'snapshot', id: pending.id, state: 'pending' });
        } else {
          expect(reply.status).toBe(400);
          expect(String(reply.type)).toMatch(/^urn:mobile-key:problem:(bad-request|malformed-json)$/);
        }
      }),
      { numRuns: 100 },
    );
    // Nothing else was queued: the next message after a ping is its pong.
    page.send('{"type":"ping"}');
    expect(await page.next()).toEqual({ type: 'pong' });
    page.close();
  });

  it('arbitrary paths and methods: never a 5xx, every error a problem', async () => {
    const segment = fc.oneof(
      junk.map(encodeURIComponent),
      fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', '..', '.', ';', '@', ':', '*'), // raw, not encoded
      fc.constantFrom('login', 'api', 'mobile', 'admin', 'key', 'demo', 'static', 'ws', 'state', 'cancel', 'continue', 'restart', pending.id),
    );
    // A leading "//" would make the path a host name (protocol-relative URL), not a path.
    const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`).filter((p) => !p.startsWith('//'));
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
    await fc.assert(
      fc.asyncProperty(method, path, body({ a: anyValue }), contentType, async (m, p, payload, type) => {
        const res = await send(m, p, { body: payload, type });
        expect(res.status, `${m} ${p}`).toBeLessThan(500);
        if (res.status >= 400 && res.headers.get('Content-Type') === 'application/problem+json') await expectProblem(res, `${m} ${p}`);
      }),
      RUNS,
    );
  });
});
