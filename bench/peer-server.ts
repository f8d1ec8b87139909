/**
 * The peer for `npm run bench`: node-oidc-provider (the OpenID-certified Node.js provider) on
 * loopback, with its development login and consent screens (a username/password form that
 * accepts any password, then a consent form) and one public client using PKCE.
 *
 * Usage: node bench/peer-server.ts PORT  (prints "ready" when listening). With `PEER_STORE=<file>`
 * it keeps its state in that SQLite file (bench/peer-store.ts, durable writes) instead of its
 * built-in in-memory adapter.
 */
import { Provider } from 'oidc-provider';
import { sqliteAdapter } from './peer-store.ts';

const port = Number(process.argv[2] ?? 3000);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  ...(process.env.PEER_STORE ? { adapter: sqliteAdapter(process.env.PEER_STORE) } : {}),
  clients: [
    {
      client_id: 'bench',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost/bench/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'birthdate'] },
  findAccount: (_ctx: unknown, id: string) => ({
    accountId: id,
    claims: () => ({ sub: id, given_name: 'Jana', family_name: 'Nováková', birthdate: '1990-01-01' }),
  }),
  features: { devInteractions: { enabled: true } },
  // Silence the development-only notices; the bench measures, it does not deploy.
  cookies: { keys: ['bench-only-cookie-key-0123456789'] },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
