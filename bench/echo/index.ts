import { DurableObject } from 'cloudflare:workers';

/** Echoes every WebSocket message back (hibernatable). One object per name in `/ws/<name>`. */
export class Echo extends DurableObject {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }
}

export default {
  async fetch(request: Request, env: { ECHO: DurableObjectNamespace<Echo> }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return new Response('{"status":"ok"}');
    const match = /^\/ws\/([\w-]{1,64})$/.exec(url.pathname);
    if (!match || request.headers.get('Upgrade') !== 'websocket') return new Response('not found', { status: 404 });
    return env.ECHO.get(env.ECHO.idFromName(match[1]!)).fetch(request);
  },
};
