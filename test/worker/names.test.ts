import { describe, expect, it } from 'vitest';
import { isSafeDisplayName, sanitizeForTerminal } from '../../src/http/names.ts';
import { call } from './helpers.ts';

const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };

describe('display names', () => {
  it('accept ordinary names in any script, refuse text that could fake or hide other text', () => {
    for (const ok of ['Portál občana', 'Jana’s Pixel 9', 'Служба', 'بنك', '銀行 Online']) expect(isSafeDisplayName(ok)).toBe(true);
    for (const bad of ['a\u001b[31mred', 'line\nbreak', 'cr\rhere', 'nul\u0000', 'bidi\u202Egnp.exe', 'mark\u200E', 'zero\u200Bwidth', 'bom\uFEFF', 'sep\u2028x', 'lone\uD800', 'tag\u{E0041}']) {
      expect(isSafeDisplayName(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(sanitizeForTerminal('ok\u001b[31m\nfake')).toBe('ok\uFFFD[31m\uFFFDfake');
  });

  it('a relying service cannot be registered under a name with control or bidi characters', async () => {
    const res = await call('/admin/clients', {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'Bank\u202Egnp.exe\n[ok] Approved', redirect_uris: ['https://rp.example/cb'] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { type: string }).type).toBe('urn:mobile-key:problem:invalid-input');
  });
});
