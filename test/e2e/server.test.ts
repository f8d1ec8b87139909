import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type RunningServer } from './server.ts';

describe('local server (wrangler dev)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers health checks and unknown paths with a problem', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${server.url}/no-such-thing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('is stopped with its whole process group', async () => {
    const again = await startTestServer();
    await again.stop();
    await expect(fetch(`${again.url}/healthz`)).rejects.toThrow();
  });
});
