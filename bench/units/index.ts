import { DurableObject } from 'cloudflare:workers';

/**
 * The runtime's unit operations, each behind one GET so bench/units.ts can take the CPU of the
 * trivial request away from each:
 * - `/healthz` — the trivial request (as bench/echo's);
 * - `/do/<name>` — one Durable Object RPC call that reads nothing and writes nothing;
 * - `/do-put/<name>` — one RPC call that writes one storage key (`await ctx.storage.put`);
 * - `/do-get/<name>` — one RPC call that reads one storage key;
 * - `/do-new` — one RPC call to a **new** object (a random name) that writes one key: an object's
 *   creation, as every login creates its LoginSession;
 * - `/do-new-alarm` — the same, also setting an alarm (as a login sets its expiry);
 * - `/d1` — one D1 query by primary key returning one row of six columns (a device row's width);
 * - `/d1-write` — one D1 UPDATE by primary key;
 * - `/setup` — creates and fills the table (once).
 */
export class Unit extends DurableObject {
  ping(): number {
    return 1;
  }
  async write(value: string): Promise<number> {
    await this.ctx.storage.put('v', value);
    return 1;
  }
  async readOne(): Promise<string | undefined> {
    return this.ctx.storage.get<string>('v');
  }
  async writeWithAlarm(value: string): Promise<number> {
    await this.ctx.storage.put('v', value);
    await this.ctx.storage.setAlarm(Date.now() + 600_000);
    return 1;
  }
  override async alarm(): Promise<void> {}
}

interface Env {
  UNIT: DurableObjectNamespace<Unit>;
  DB: D1Database;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, op, name = 'one'] = url.pathname.split('/');
    switch (op) {
      case 'healthz':
        return new Response('{"status":"ok"}');
      case 'do':
        return new Response(String(await env.UNIT.get(env.UNIT.idFromName(name)).ping()));
      case 'do-put':
        return new Response(String(await env.UNIT.get(env.UNIT.idFromName(name)).write(url.search)));
      case 'do-get':
        return new Response(String(await env.UNIT.get(env.UNIT.idFromName(name)).readOne()));
      case 'do-new':
        return new Response(String(await env.UNIT.get(env.UNIT.newUniqueId()).write(url.search)));
      case 'do-new-alarm':
        return new Response(String(await env.UNIT.get(env.UNIT.newUniqueId()).writeWithAlarm(url.search)));
      case 'd1': {
        const row = await env.DB.prepare('SELECT id, sub, name, public_jwk, created_at, last_used_at FROM units WHERE id = ?1').bind('d-7').first();
        return new Response(row ? 'ok' : 'missing');
      }
      case 'd1-write':
        await env.DB.prepare('UPDATE units SET last_used_at = ?2 WHERE id = ?1').bind('d-7', Date.now()).run();
        return new Response('ok');
      case 'setup': {
        await env.DB.prepare('CREATE TABLE IF NOT EXISTS units (id TEXT PRIMARY KEY, sub TEXT, name TEXT, public_jwk TEXT, created_at INTEGER, last_used_at INTEGER)').run();
        const insert = env.DB.prepare('INSERT OR IGNORE INTO units VALUES (?1, ?2, ?3, ?4, ?5, ?6)');
        await env.DB.batch(Array.from({ length: 100 }, (_, i) => insert.bind(`d-${i}`, `sub-${i}`, `Phone ${i}`, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) }), Date.now(), null)));
        return new Response('ok');
      }
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
