import { DurableObject } from 'cloudflare:workers';
import type { StoredEcho } from './held.ts';

export { StoredEcho } from './held.ts';

/**
 * The bench's floors (one object per name):
 * - `GET /ws/<name>` (WebSocket): echoes every message back (hibernatable).
 * - `GET /stored/<name>?bytes=<n>` (WebSocket): the same, after storing one key (./held.ts).
 * - `POST /send/<name>` with a text body: writes one storage key, then sends the body on every
 *   socket the object holds, then answers 204 — the shape of a login's approval (an HTTP
 *   request, one durable write, one WebSocket send), with none of its checks. What an approval
 *   minimally must do and no less: the write is a real one each time (a new value), its
 *   transaction commits before the send leaves (the output gate, as for LoginSession), and the
 *   socket is a hibernatable one held by the object, as the login page's is. Not included, on
 *   purpose: the approval's revocation read in D1 (docs/performance.md, "Decision-to-page").
 * - `GET /healthz`: the trivial request.
 */
export class Echo extends DurableObject {
  override async fetch(request: Request): Promise<Response> {
    if (request.method === 'POST') {
      const body = await request.text();
      await this.ctx.storage.put('last', body); // as LoginSession writes
      for (const ws of this.ctx.getWebSockets()) ws.send(body);
      return new Response(null, { status: 204 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }
}

export default {
  async fetch(request: Request, env: { ECHO: DurableObjectNamespace<Echo>; STORED_ECHO: DurableObjectNamespace<StoredEcho> }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return new Response('{"status":"ok"}');
    const send = /^\/send\/([\w-]{1,64})$/.exec(url.pathname);
    if (send && request.method === 'POST') return env.ECHO.get(env.ECHO.idFromName(send[1]!)).fetch(request);
    const match = /^\/(ws|stored)\/([\w-]{1,64})$/.exec(url.pathname);
    if (!match || request.headers.get('Upgrade') !== 'websocket') return new Response('not found', { status: 404 });
    const namespace = match[1] === 'stored' ? env.STORED_ECHO : env.ECHO;
    return namespace.get(namespace.idFromName(match[2]!)).fetch(request);
  },
};
