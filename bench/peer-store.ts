/**
 * A durable adapter for the peer (node-oidc-provider's `Adapter` interface, its
 * docs/README "adapter"): every model in one SQLite file through `node:sqlite`, WAL journal,
 * `synchronous = FULL` (each write is committed durably before it returns, as a Durable Object's
 * storage write is). node-oidc-provider's built-in adapter keeps everything in process memory
 * and is "not for production" (its own words); a deployment gives it an adapter like this one
 * (Redis, MongoDB, SQL). `bench/peer-server.ts` uses it when `PEER_STORE` names a file, so the
 * bench can show the peer with and without durable storage.
 */
import { DatabaseSync } from 'node:sqlite';

type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

let database: DatabaseSync | undefined;

/** Opens (once) the store at `path`, creating its one table. */
function open(path: string): DatabaseSync {
  if (database) return database;
  database = new DatabaseSync(path);
  database.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS models (name TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
      grant_id TEXT, user_code TEXT, uid TEXT, expires_at INTEGER, PRIMARY KEY (name, id));
    CREATE INDEX IF NOT EXISTS models_grant ON models (grant_id);
    CREATE INDEX IF NOT EXISTS models_uid ON models (uid);`);
  return database;
}

/**
 * Returns an adapter class for node-oidc-provider over the SQLite file at `path`.
 * Expiry (`expiresIn`, seconds) is stored as epoch milliseconds and checked on every read.
 */
export function sqliteAdapter(path: string) {
  const db = open(path);
  const upsert = db.prepare('INSERT OR REPLACE INTO models (name, id, payload, grant_id, user_code, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const byId = db.prepare('SELECT payload, expires_at FROM models WHERE name = ? AND id = ?');
  const byUserCode = db.prepare('SELECT payload, expires_at FROM models WHERE name = ? AND user_code = ?');
  const byUid = db.prepare('SELECT payload, expires_at FROM models WHERE name = ? AND uid = ?');
  const destroy = db.prepare('DELETE FROM models WHERE name = ? AND id = ?');
  const byGrant = db.prepare('DELETE FROM models WHERE grant_id = ?');
  const consume = db.prepare("UPDATE models SET payload = json_set(payload, '$.consumed', ?) WHERE name = ? AND id = ?");
  const parse = (row: unknown): Payload | undefined => {
    const r = row as { payload: string; expires_at: number | null } | undefined;
    if (!r || (r.expires_at !== null && r.expires_at <= Date.now())) return undefined;
    return JSON.parse(r.payload) as Payload;
  };
  return class SqliteAdapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      upsert.run(this.name, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresIn ? Date.now() + expiresIn * 1000 : null);
    }
    async find(id: string): Promise<Payload | undefined> {
      return parse(byId.get(this.name, id));
    }
    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return parse(byUserCode.get(this.name, userCode));
    }
    async findByUid(uid: string): Promise<Payload | undefined> {
      return parse(byUid.get(this.name, uid));
    }
    async consume(id: string): Promise<void> {
      consume.run(Math.floor(Date.now() / 1000), this.name, id);
    }
    async destroy(id: string): Promise<void> {
      destroy.run(this.name, id);
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      byGrant.run(grantId);
    }
  };
}
