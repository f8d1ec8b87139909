/**
 * The OpenID Provider's endpoints, mounted at the root:
 * `/.well-known/openid-configuration`, `/jwks`, `/authorize`, `/token`, `/userinfo`, `/logout`.
 * (`/login/:id/continue` is {@link continueRoutes}, mounted at `/login`.)
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { authorizationRoutes } from './authorization.ts';
import { discoveryRoutes } from './discovery.ts';
import { logoutRoutes } from './logout.ts';
import { tokenRoutes } from './token.ts';
import { userinfoRoutes } from './userinfo.ts';

export { continueRoutes } from './authorization.ts';

export const oidcRoutes = new Hono<{ Bindings: Env }>();

// Browser-based relying services call these directly; tokens are bearer, never cookies.
oidcRoutes.use('/token', cors({ origin: '*', allowMethods: ['POST'], maxAge: 600 }));
oidcRoutes.use('/userinfo', cors({ origin: '*', allowMethods: ['GET', 'POST'], allowHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }));
oidcRoutes.route('/', discoveryRoutes);
oidcRoutes.route('/', authorizationRoutes);
oidcRoutes.route('/', tokenRoutes);
oidcRoutes.route('/', userinfoRoutes);
oidcRoutes.route('/', logoutRoutes);
