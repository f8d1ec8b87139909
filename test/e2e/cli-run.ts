/**
 * Runs the project's CLIs as `npm run -s admin|key -- …` does (Node 22 from node_modules, with
 * type stripping), with only PATH, HOME and the given variables in the environment.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');

export interface CliRun {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as exactly one JSON object ({} when it is not JSON). */
  json: Record<string, unknown>;
}

/** Runs `cli/<name>.ts` with `args` to completion; never rejects for a non-zero exit. */
export function runCli(name: 'admin' | 'key', args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [`cli/${name}.ts`, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        // not JSON output
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}
