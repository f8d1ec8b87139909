import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('is stopped with its whole process group, and creates a persistence folder that does not exist yet', async () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'mobile-key-fresh-')), 'not', 'yet', 'there');
    const again = await startTestServer({ persistTo: fresh });
    expect(existsSync(join(fresh, 'v3'))).toBe(true);
    await again.stop();
    await expect(fetch(`${again.url}/healthz`)).rejects.toThrow();
  });
});
