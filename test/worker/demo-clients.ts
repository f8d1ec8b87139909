/**
 * The demo services' clients `demo` and `demo-2`, registered as `npm start` seeds them
 * (scripts/lib/seed.ts: redirect, post-logout, back- and front-channel logout URIs). Every file
 * that logs in to a demo service registers them through this one function: the worker project
 * shares one D1 across files (`isolate: false`), so a narrower registration by one file would
 * change what another file finds.
 */
import { env } from 'cloudflare:workers';
import { getClient, registerClient } from '../../src/oidc/clients.ts';

export async function ensureDemoClients(): Promise<void> {
  for (const [clientId, name, base] of [['demo', 'Demo relying service', '/demo'], ['demo-2', 'Second demo service', '/demo/second']] as const) {
    if (await getClient(env.DB, clientId)) continue;
    await registerClient(env.DB, {
      clientId,
      name,
      public: true,
      redirectUris: [`${env.ISSUER}${base}/callback`],
      postLogoutRedirectUris: [`${env.ISSUER}${base}/logged-out`],
      backchannelLogoutUri: `${env.ISSUER}${base}/backchannel-logout`,
      frontchannelLogoutUri: `${env.ISSUER}${base}/frontchannel-logout`,
    });
  }
}
