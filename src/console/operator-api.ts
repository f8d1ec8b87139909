/**
 * Operator roles in the operator API, mounted at `/admin/operators` behind the admin bearer
 * token (src/identity/admin.ts). JSON, snake_case, problem+json errors.
 *
 * - `GET /admin/operators` → `{operators: [{sub, role, granted_at}]}`
 * - `PUT /admin/operators/:sub` `{role: "clerk"|"admin"}` → `{sub, role, granted_at}`
 * - `DELETE /admin/operators/:sub` → `{sub, role: null}` (also ends the operator's console sessions)
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { readJson } from '../http/json.ts';
import { ProblemError } from '../http/problem.ts';
import { grantRole, listOperators, revokeRole, ROLES } from './operators.ts';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;
const GrantBody = v.strictObject({ role: v.picklist(ROLES, 'role must be clerk or admin') });

/** The `/admin/operators` routes (see the module comment). */
export const operatorApi = new Hono<{ Bindings: Env }>();

operatorApi.get('/', async (c) =>
  c.json({ operators: (await listOperators(c.env.DB)).map((o) => ({ sub: o.sub, role: o.role, granted_at: o.grantedAt })) }, 200, NO_STORE),
);

operatorApi.put('/:sub', async (c) => {
  const body = await readJson(c.req.raw, GrantBody);
  const now = Date.now();
  if (!(await grantRole(c.env.DB, c.req.param('sub'), body.role, now))) {
    throw new ProblemError('unknown-identity', 404, 'Unknown identity', { detail: 'No identity has this sub.' });
  }
  return c.json({ sub: c.req.param('sub'), role: body.role, granted_at: now }, 200, NO_STORE);
});

operatorApi.delete('/:sub', async (c) => {
  if (!(await revokeRole(c.env.DB, c.req.param('sub')))) {
    throw new ProblemError('not-found', 404, 'Unknown operator', { detail: 'This identity has no operator role.' });
  }
  return c.json({ sub: c.req.param('sub'), role: null }, 200, NO_STORE);
});
