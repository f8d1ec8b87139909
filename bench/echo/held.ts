import { DurableObject } from 'cloudflare:workers';

/** Default and largest size of the one stored value, in bytes. */
export const STORED_DEFAULT_BYTES = 1024;
const STORED_MAX_BYTES = 16 * 1024;

/**
 * The second baseline for held logins (bench/held.ts): a trivial object that stores one key and
 * holds one hibernatable socket, echoing what it is sent. `GET /stored/<name>?bytes=<n>` (a
 * WebSocket upgrade) writes one value of `n` bytes (default {@link STORED_DEFAULT_BYTES}, about
 * what a pending login stores: ~750 bytes in 5 keys) before accepting. Like `Echo`, it sends
 * nothing unasked, so its socket's compression context (if the client negotiated one) stays
 * untouched.
 */
export class StoredEcho extends DurableObject {
  override async fetch(request: Request): Promise<Response> {
    const asked = Number(new URL(request.url).searchParams.get('bytes') ?? STORED_DEFAULT_BYTES);
    const bytes = Number.isInteger(asked) && asked >= 0 ? Math.min(asked, STORED_MAX_BYTES) : STORED_DEFAULT_BYTES;
    await this.ctx.storage.put('value', 'x'.repeat(bytes));
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }
}
