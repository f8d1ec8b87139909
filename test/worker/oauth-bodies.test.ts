import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';

/** A request body streamed in chunks with no Content-Length, `total` bytes of `a=` padding. */
function chunkedBody(total: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('a'.repeat(4096));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

describe('OAuth request bodies', () => {
  it('a chunked body over 16 KiB is refused with 413 invalid_request, without a Content-Length', async () => {
    for (const path of ['/token', '/userinfo', '/authorize']) {
      const res = await call(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: chunkedBody(1024 * 1024),
        // @ts-expect-error: workerd's RequestInit takes `duplex` for streamed bodies
        duplex: 'half',
      });
      expect(res.status, path).toBeLessThan(500);
      if (path !== '/authorize') {
        expect(res.status, path).toBe(413);
        expect(((await res.json()) as { error: string }).error, path).toBe('invalid_request');
      }
    }
  });

  it('UserInfo refuses a repeated access_token in the body', async () => {
    const res = await call('/userinfo', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'access_token=a&access_token=b',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('WWW-Authenticate')).toContain('invalid_request');
  });
});
