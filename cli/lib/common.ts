/**
 * Shared plumbing of the command-line clients: argument errors, output in text or JSON (exactly
 * one JSON object on stdout with `--json`), and exit codes (1: refused or failed, 2: usage).
 */

/** An error to report on stderr and exit with; `code` is a stable machine-readable reason. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A usage error (exit code 2). */
export function usage(message: string): CliError {
  return new CliError('usage', message, 2);
}

/** The default server of both CLIs. */
export const DEFAULT_SERVER = 'http://localhost:8787';

/**
 * Normalises a `--server` value to an origin-like base URL without a trailing slash.
 * @throws {CliError} usage for anything that is not an http(s) URL.
 */
export function serverUrl(value: string): string {
  const url = URL.parse(value);
  if (!url || !/^https?:$/.test(url.protocol)) throw usage(`--server must be an http(s) URL, got "${value}"`);
  return url.href.replace(/\/+$/, '');
}

/** True for a loopback host (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`), where plain http never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

/**
 * {@link serverUrl} for a client that sends a bearer secret (the operator CLI's `ADMIN_TOKEN`):
 * plain http only to a loopback host, so the token never crosses a network in clear text.
 * @throws {CliError} usage for a non-http(s) URL or plain http off loopback (nothing is sent).
 */
export function secureServerUrl(value: string): string {
  const base = serverUrl(value);
  const url = new URL(base);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw usage('--server must use https (plain http is allowed only for localhost, 127.0.0.1 or [::1]): the operator token would travel in clear text');
  }
  return base;
}

/**
 * Runs a CLI's main function: prints its result (JSON or text) and maps errors to stderr and
 * an exit code. With `--json`, a failure also prints one JSON object `{error, message}` on stdout.
 */
export async function runCli(
  program: string,
  json: boolean,
  main: () => Promise<{ json: object; text: string }>,
): Promise<void> {
  try {
    const result = await main();
    process.stdout.write(json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
  } catch (error) {
    const { code, message, exitCode } =
      error instanceof CliError
        ? error
        : error && typeof error === 'object' && 'code' in error && typeof (error as { code: unknown }).code === 'string'
          ? { code: (error as { code: string }).code, message: (error as unknown as Error).message, exitCode: 1 }
          : { code: 'internal', message: String((error as Error)?.message ?? error), exitCode: 1 };
    process.stderr.write(`${program}: error: ${message}${code && code !== 'usage' ? ` (${code})` : ''}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: code, message })}\n`);
    process.exitCode = exitCode;
  }
}

/** Epoch milliseconds as a readable UTC time. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** A duration in milliseconds as "2 min 48 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}
