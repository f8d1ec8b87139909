/**
 * The page's WebSockets of one login (or pairing), as the LoginSession and Pairing objects keep
 * them (hibernatable, so every socket's data lives in its attachment).
 */
import { ProblemError, type ProblemBody } from '../http/problem.ts';

/**
 * Most page WebSockets one login keeps open (a few tabs of the one bound browser); a new one
 * beyond this closes the oldest with {@link SOCKET_REPLACED_CODE} (issue 14, review 6).
 */
export const MAX_PAGE_SOCKETS = 4;
/** WebSocket close code (private range, RFC 6455 §7.4.2) for a socket replaced by a newer one. */
export const SOCKET_REPLACED_CODE = 4000;

/** What each page WebSocket carries across hibernation. */
export interface SocketAttachment {
  /** When it was accepted, epoch ms (the oldest is closed first). */
  openedAt: number;
  /**
   * Set while the page says it is not shown (`{"type":"hidden"}`, its `document.visibilityState`
   * is `hidden`): it gets state changes but no QR frames until it sends `{"type":"refresh"}`.
   */
  hidden?: true;
}

/** The attachment of `ws` (an empty one for a socket accepted without it). */
function attachmentOf(ws: WebSocket): Partial<SocketAttachment> {
  return (ws.deserializeAttachment() as Partial<SocketAttachment> | null) ?? {};
}

/** Marks a page socket hidden (no QR frames pushed to it) or shown again. */
export function setSocketHidden(ws: WebSocket, hidden: boolean): void {
  const { hidden: _was, ...rest } = attachmentOf(ws);
  ws.serializeAttachment(hidden ? { ...rest, hidden: true } : rest);
}

/** The sockets whose page is shown (not marked hidden): the ones QR frames are pushed to. */
export function shownSockets(sockets: WebSocket[]): WebSocket[] {
  return sockets.filter((ws) => attachmentOf(ws).hidden !== true);
}

/**
 * What the 101 response to a page's WebSocket upgrade carries in `Sec-WebSocket-Extensions`:
 * the server's own extension configuration, which workerd reads in place of its default (it never
 * reaches the wire; the handshake's header is the negotiated result, here none). A value without
 * `permessage-deflate` turns compression (RFC 7692) off: a compressed socket keeps a zlib deflate
 * context of about 230 KiB from its first message on, for as long as it is open, hibernated or
 * not, which was most of a held login's memory (docs/performance.md "Held logins"); the page's
 * messages are a few hundred bytes of JSON, so compression saved little.
 */
export const NO_WEBSOCKET_EXTENSIONS = 'none';

/** The 101 answer to a page's WebSocket upgrade, without compression ({@link NO_WEBSOCKET_EXTENSIONS}). */
export function upgradeResponse(client: WebSocket): Response {
  return new Response(null, { status: 101, webSocket: client, headers: { 'Sec-WebSocket-Extensions': NO_WEBSOCKET_EXTENSIONS } });
}

/** Keeps at most {@link MAX_PAGE_SOCKETS} of `sockets` open, closing the oldest first. */
export function closeOldestSockets(sockets: WebSocket[]): void {
  if (sockets.length <= MAX_PAGE_SOCKETS) return;
  const openedAt = (ws: WebSocket): number => {
    const value = attachmentOf(ws).openedAt;
    return typeof value === 'number' ? value : 0;
  };
  // A stable sort keeps the runtime's (acceptance) order among sockets opened in the same ms.
  const oldest = sockets.map((ws, i) => ({ ws, i, at: openedAt(ws) })).sort((a, b) => a.at - b.at || a.i - b.i);
  for (const { ws } of oldest.slice(0, sockets.length - MAX_PAGE_SOCKETS)) {
    try {
      ws.close(SOCKET_REPLACED_CODE, 'replaced by a newer connection');
    } catch {
      // already closed
    }
  }
}

/** Sends the whole snapshot to every socket; one closing under us is skipped (it reconnects). */
export function broadcast(sockets: WebSocket[], snapshot: object): void {
  const text = JSON.stringify(snapshot);
  for (const ws of sockets) {
    try {
      ws.send(text);
    } catch {
      // a socket closing under us; the page will reconnect and get a fresh snapshot
    }
  }
}

/** Largest WebSocket message a page may send, in bytes. */
export const MAX_SOCKET_MESSAGE_BYTES = 1024;

/**
 * Parses a page's WebSocket message: text of at most {@link MAX_SOCKET_MESSAGE_BYTES} bytes,
 * a JSON object whose `type` is one of `types`.
 * @returns the type, or the problem body to send back (400 `bad-request` or `malformed-json`).
 */
export function parseSocketMessage<T extends string>(
  message: string | ArrayBuffer,
  types: readonly T[],
): { type: T } | { problem: ProblemBody } {
  const problem = (detail: string, code: 'bad-request' | 'malformed-json' = 'bad-request') => ({
    problem: new ProblemError(code, 400, code === 'malformed-json' ? 'Malformed JSON' : 'Unknown message', { detail }).toBody(),
  });
  // Bytes, not UTF-16 units: the limit is on what crosses the wire.
  if (typeof message !== 'string' || new TextEncoder().encode(message).byteLength > MAX_SOCKET_MESSAGE_BYTES) {
    return problem('Send text messages of at most 1 KiB.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return problem('The message is not valid JSON.', 'malformed-json');
  }
  const type = typeof parsed === 'object' && parsed !== null ? (parsed as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && (types as readonly string[]).includes(type)) return { type: type as T };
  return problem(`Unknown message type; expected ${types.map((t) => `"${t}"`).join(', ')} or "ping".`);
}

/**
 * Completes a WebSocket close handshake the other side started (RFC 6455 §5.5.1): echoes its
 * code; 1005/1006 have no wire form, so 1000 is sent for them. A socket already closed is fine.
 */
export function echoClose(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closing');
  } catch {
    // already closed
  }
}
