/**
 * Bench-only entry (bench/profile.ts): the product's Worker with its D1 and Durable Object
 * bindings wrapped to count and time every call, per request. `GET /__profile` returns the
 * records so far and clears them. Times are the runtime's clock, which advances only across
 * I/O: a D1 or Durable Object call's time is its round trip; CPU work shows as the difference
 * between the client's time and the I/O here.
 */
import app from '../../src/index.ts';
import { LoginSession as ProductLoginSession } from '../../src/session/LoginSession.ts';

interface Call {
  kind: 'd1' | 'do';
  what: string;
  ms: number;
}
interface RequestRecord {
  method: string;
  path: string;
  calls: Call[];
}
const records: RequestRecord[] = [];
let current: RequestRecord | undefined;

async function timed<T>(kind: Call['kind'], what: string, run: () => Promise<T>): Promise<T> {
  const record = current;
  const t0 = performance.now();
  try {
    return await run();
  } finally {
    record?.calls.push({ kind, what, ms: performance.now() - t0 });
  }
}

const REAL = Symbol('real statement');
type Statement = D1PreparedStatement & { [REAL]?: D1PreparedStatement };

function wrapStatement(statement: D1PreparedStatement, sql: string): Statement {
  const what = sql.replace(/\s+/g, ' ').trim().slice(0, 60);
  return new Proxy(statement, {
    get(target, prop) {
      if (prop === REAL) return target;
      if (prop === 'bind') return (...args: unknown[]) => wrapStatement(target.bind(...args), sql);
      if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
        return (...args: unknown[]) => timed('d1', what, () => (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Statement;
}

function wrapDb(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === 'batch') {
        return (statements: Statement[]) =>
          timed('d1', `batch of ${statements.length}`, () => target.batch(statements.map((s) => s[REAL] ?? s)));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function wrapStub<T extends object>(stub: T): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const result = Reflect.apply(value as (...a: unknown[]) => unknown, target, args); // not .apply: an RPC stub would take it for a method
        return result && typeof (result as Promise<unknown>).then === 'function'
          ? timed('do', prop, () => result as Promise<unknown>)
          : result;
      };
    },
  });
}

function wrapNamespace(ns: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'get' || prop === 'getByName') return (...args: unknown[]) => wrapStub((value as (...a: unknown[]) => object).apply(target, args));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const wrapEnv = (env: Env): Env => ({ ...env, DB: wrapDb(env.DB), LOGIN_SESSION: wrapNamespace(env.LOGIN_SESSION as unknown as DurableObjectNamespace) as unknown as Env['LOGIN_SESSION'], BROWSER_SESSION: wrapNamespace(env.BROWSER_SESSION as unknown as DurableObjectNamespace) as unknown as Env['BROWSER_SESSION'] });

export class LoginSession extends ProductLoginSession {}
export { BrowserSession } from '../../src/browser-session/BrowserSession.ts';

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__profile') {
      const body = JSON.stringify(records.splice(0));
      return new Response(body, { headers: { 'Content-Type': 'application/json' } });
    }
    const record: RequestRecord = { method: request.method, path: url.pathname, calls: [] };
    records.push(record);
    current = record;
    try {
      return await app.fetch(request, wrapEnv(env), ctx);
    } finally {
      if (current === record) current = undefined;
    }
  },
};
