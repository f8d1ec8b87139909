import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The worker keeps client records in the isolate (src/oidc/client-cache.ts); each test starts
// with that cache empty. (D1 and Durable Object storage are the runtime's: with `isolate: false`
// every file shares them, so tests make their own rows and never count rows they did not make;
// applying the migrations again is a no-op.)
import { beforeEach } from 'vitest';
import { forgetPageAssets } from '../../src/login/assets.ts';
import { forgetAllClients } from '../../src/oidc/client-cache.ts';
beforeEach(() => forgetAllClients());

// The project runs its files in one shared isolate (vitest.config.ts, `isolate: false`): each
// file starts, as in an isolate of its own, without the page assets another file's requests read.
forgetPageAssets();
