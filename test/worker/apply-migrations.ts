import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The worker keeps client records in the isolate (src/oidc/client-cache.ts); each test's D1
// starts over, so its cache does too.
import { beforeEach } from 'vitest';
import { forgetAllClients } from '../../src/oidc/client-cache.ts';
beforeEach(() => forgetAllClients());
