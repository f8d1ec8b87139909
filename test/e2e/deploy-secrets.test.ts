import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDevVars, formatDotenv, parseDotenv } from '../../scripts/lib/secrets.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function secrets(args: string[]): { code: number; stdout: string; stderr: string } {
  const run = spawnSync(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'scripts/secrets.ts'), ...args], { encoding: 'utf8' });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

function keysOf(file: string): { kid: string; alg: string; d?: string }[] {
  return JSON.parse((JSON.parse(readFileSync(file, 'utf8')) as { SIGNING_KEYS: string }).SIGNING_KEYS);
}

describe('npm run secrets (docs/deploy.md)', () => {
  it('generates the secrets file for wrangler secret bulk and refuses to overwrite it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mobile-key-secrets-')), 'secrets.json');
    const made = secrets(['generate', '--out', file]);
    expect(made.code, made.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(json.ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(json.PAIRWISE_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(json.PAIRWISE_SECRET).not.toBe(json.ADMIN_TOKEN);
    expect(keysOf(file).map((k) => k.alg)).toEqual(['RS256', 'ES256']);
    expect(keysOf(file).every((k) => typeof k.d === 'string')).toBe(true);

    const again = secrets(['generate', '--out', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refusing to overwrite/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(json);
  });

  it('rotates an ID token key: publish, then sign, then retire the old one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mobile-key-secrets-')), 'secrets.json');
    expect(secrets(['generate', '--out', file]).code).toBe(0);
    const oldKid = keysOf(file)[0]!.kid;

    const added = secrets(['add-key', '--alg', 'RS256', '--file', file]);
    expect(added.code, added.stderr).toBe(0);
    const newKid = keysOf(file)[2]!.kid;
    expect(added.stdout).toContain(`${oldKid}  RS256  signs`);
    expect(added.stdout).toContain(`${newKid}  RS256  published`);

    // The old key still signs: it cannot be retired yet.
    const early = secrets(['retire', oldKid, '--file', file]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/promote another key first/);

    expect(secrets(['promote', newKid, '--file', file]).code).toBe(0);
    expect(keysOf(file)[0]!.kid).toBe(newKid);
    const retired = secrets(['retire', oldKid, '--file', file]);
    expect(retired.code, retired.stderr).toBe(0);
    expect(keysOf(file).map((k) => k.kid)).not.toContain(oldKid);
    expect(keysOf(file).map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
  });

  it('npm start adds PAIRWISE_SECRET to a .dev.vars from before it, keeping the other secrets', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mobile-key-devvars-')), '.dev.vars');
    writeFileSync(path, formatDotenv({ ADMIN_TOKEN: 'kept-admin-token', SIGNING_KEYS: '[]' }));
    const { written } = await ensureDevVars(path);
    expect(written).toBe(true);
    const values = parseDotenv(readFileSync(path, 'utf8'));
    expect(values).toMatchObject({ ADMIN_TOKEN: 'kept-admin-token', SIGNING_KEYS: '[]' });
    expect(values.PAIRWISE_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await ensureDevVars(path)).written).toBe(false);
  });
});
