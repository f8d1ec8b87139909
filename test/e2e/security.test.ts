/** Review findings that need a real process or browser (issue 14; docs/security.md). */
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-run.ts';

describe('review 9: operator CLI over plain http', () => {
  it('refuses a non-loopback http --server before sending the token', async () => {
    const run = await runCli('admin', ['devices', 'sub_x', '--server', 'http://login.invalid', '--json'], { ADMIN_TOKEN: 'secret-token' });
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ error: 'usage' });
    expect(run.stderr).toContain('must use https');
    expect(run.stderr).not.toContain('secret-token');
  });
});
