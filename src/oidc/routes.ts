/**
 * The OpenID Provider's endpoints, mounted at the root:
 * `/.well-known/openid-configuration`, `/jwks`, `/authorize`, `/token`, `/userinfo`, `/logout`.
 * (`/login/:id/continue` and `/login/:id/return` are {@link continueRoutes}, mounted at `/login`.)
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { authorizationRoutes } from './authorization.ts';
import { discoveryRoutes } from './discovery.ts';
import { logoutRoutes } from './logout.ts';
import { revocationRoutes } from './revocation.ts';
import { tokenRoutes } from './token.ts';
import { userinfoRoutes } from './userinfo.ts';

import { continueRoutes as continueAfterLogin } from './authorization.ts';
import { returnRoutes } from './return.ts';

/** Mounted at `/login`: `GET /:id/continue` (after approval) and `POST /:id/return` (every way back without a code). */
export const continueRoutes = new Hono<{ Bindings: Env }>().route('/', continueAfterLogin).route('/', returnRoutes);

export const oidcRoutes = new Hono<{ Bindings: Env }>();

// Browser-based relying services call these directly; tokens are bearer, never cookies.
oidcRoutes.use('/token', cors({ origin: '*', allowMethods: ['POST'], maxAge: 600 }));
oidcRoutes.use('/revoke', cors({ origin: '*', allowMethods: ['POST'], maxAge: 600 }));
oidcRoutes.use('/userinfo', cors({ origin: '*', allowMethods: ['GET', 'POST'], allowHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }));
oidcRoutes.route('/', discoveryRoutes);
oidcRoutes.route('/', authorizationRoutes);
oidcRoutes.route('/', tokenRoutes);
oidcRoutes.route('/', userinfoRoutes);
oidcRoutes.route('/', logoutRoutes);
oidcRoutes.route('/', revocationRoutes);
