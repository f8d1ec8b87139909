/**
 * The QR the server draws for the login page (client/shared/qr-encode.ts, qr-path.ts): the
 * symbol and mask `uqr` would make, a path that paints exactly its dark modules and reads back
 * as its text, and every frame handed to a page drawn (socket snapshots, `GET /login/:id/state`).
 */
import fc from 'fast-check';
import jsQR from 'jsqr';
import { encode } from 'uqr';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { drawQr } from '../../client/shared/qr-encode.ts';
import { drawnPath, QUIET_ZONE } from '../../client/shared/qr-path.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
import { call, openPage, startTestLogin } from './helpers.ts';

/** The modules of a drawn code, row by row (no quiet zone). */
function modulesOf(drawn: string): boolean[][] {
  const [side, data] = drawn.split(':');
  const n = Number(side);
  const bits = atob(data!);
  return Array.from({ length: n }, (_, y) =>
    Array.from({ length: n }, (_, x) => ((bits.charCodeAt((y * n + x) >> 3) >> (7 - ((y * n + x) & 7))) & 1) === 1),
  );
}

/** The modules a path paints (its lines through the middle of each row), quiet zone included. */
function paintedBy(path: string, size: number): boolean[][] {
  const painted = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let [x, y] = [0, 0];
  for (const [, command, a, b] of path.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (command === 'M') [x, y] = [Number(a), Number(b) - 0.5];
    else if (command === 'm') [x, y] = [x + Number(a), y + Number(b)];
    else {
      for (let i = 0; i < Number(a); i++) painted[y]![x + i] = true;
      x += Number(a);
    }
  }
  return painted;
}

/** Reads a module grid as a camera would: 4 px a module, black on white, with jsQR. */
function read(modules: boolean[][]): string | undefined {
  const scale = 4;
  const side = modules.length * scale;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  modules.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let py = y * scale; py < (y + 1) * scale; py++) {
        for (let px = x * scale; px < (x + 1) * scale; px++) pixels.fill(0, (py * side + px) * 4, (py * side + px) * 4 + 3);
      }
    }),
  );
  return jsQR(pixels, side, side)?.data;
}

/** A drawn code, drawn as the page draws it, read back. */
function readDrawn(drawn: string): string | undefined {
  const { size, path } = drawnPath(drawn)!;
  return read(paintedBy(path, size));
}

const loginUrl = fc.stringMatching(/^https:\/\/[a-z]{3,20}\.[a-z]{2,3}\/key\/login#[0-9a-f]{64}\.[rs][1-9]\d{0,3}\.[A-Za-z0-9_-]{22}$/);

describe('the QR the server draws', () => {
  it('is the symbol uqr makes with its own choice of mask, module for module', () => {
    fc.assert(
      fc.property(fc.oneof(loginUrl, fc.string({ minLength: 1, maxLength: 400 })), (text) => {
        expect(modulesOf(drawQr(text))).toEqual(encode(text, { ecc: 'M', border: 0 }).data);
      }),
      { numRuns: 300 },
    );
  });

  it('its path paints exactly the dark modules inside a 4-module quiet zone, and reads back as the text', () => {
    fc.assert(
      fc.property(loginUrl, (text) => {
        const drawn = drawQr(text);
        const modules = modulesOf(drawn);
        const { size, path } = drawnPath(drawn)!;
        expect(size).toBe(modules.length + 2 * QUIET_ZONE);
        const blank = () => new Array<boolean>(size).fill(false);
        const expected = [
          ...Array.from({ length: QUIET_ZONE }, blank),
          ...modules.map((row) => [...blank().slice(0, QUIET_ZONE), ...row, ...blank().slice(0, QUIET_ZONE)]),
          ...Array.from({ length: QUIET_ZONE }, blank),
        ];
        expect(paintedBy(path, size)).toEqual(expected);
        expect(read(expected)).toBe(text);
      }),
      { numRuns: 40 },
    );
  });

  it('the page draws nothing from text that is not a drawn code', () => {
    const good = drawQr('https://example.cz/key/login#x');
    for (const bad of ['', '21', '21:', 'x:AAAA', '20:AAAA', `${good.split(':')[0]}:!!`, good.slice(0, -8), `177:${good.split(':')[1]}`]) {
      expect(drawnPath(bad), bad).toBeUndefined();
    }
    expect(drawnPath(good)).toBeDefined();
  });
});

describe('every frame handed to the page comes drawn', () => {
  it('a socket snapshot: the current frame and each of the next three', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const snapshot = (await page.next()) as unknown as LoginSnapshot;
    page.close();
    const frames = [{ loginUrl: snapshot.loginUrl!, qr: snapshot.qr }, ...snapshot.nextFrames!];
    expect(frames).toHaveLength(4);
    for (const frame of frames) expect(readDrawn(frame.qr!)).toBe(frame.loginUrl);
  });

  it('an alarm push and a refresh: every frame drawn as a fresh drawing would be, a frame shown again the same', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const first = (await page.next()) as unknown as LoginSnapshot;
    // Three seconds on, the alarm pushes: its current frame is the first snapshot's last.
    await runInDurableObject(login.stub, async (_instance, state) => {
      const record = (await state.storage.get<{ createdAt: number }>('login'))!;
      await state.storage.put('login', { ...record, createdAt: record.createdAt - 3000 });
    });
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    const pushed = (await page.next()) as unknown as LoginSnapshot;
    expect(pushed.loginUrl).toBe(first.nextFrames![2]!.loginUrl);
    expect(pushed.qr).toBe(first.nextFrames![2]!.qr);
    page.send('{"type":"refresh"}');
    const refreshed = (await page.next()) as unknown as LoginSnapshot;
    page.close();
    for (const snapshot of [pushed, refreshed]) {
      const frames = [{ loginUrl: snapshot.loginUrl!, qr: snapshot.qr }, ...snapshot.nextFrames!];
      expect(frames).toHaveLength(4);
      for (const frame of frames) expect(frame.qr).toBe(drawQr(frame.loginUrl));
    }
    expect(readDrawn(refreshed.nextFrames![2]!.qr!)).toBe(refreshed.nextFrames![2]!.loginUrl);
  });

  it('GET /login/:id/state (the page polls it while its socket is down): its static frame', async () => {
    const login = await startTestLogin();
    const snapshot = (await (await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } })).json()) as LoginSnapshot;
    expect(snapshot.loginUrl).toMatch(new RegExp(`#${login.id}\\.s\\d+\\.`));
    expect(readDrawn(snapshot.qr!)).toBe(snapshot.loginUrl);
    // Other reads draw nothing: the page's own HTML draws its QR as SVG, the object's start and read return none.
    expect(login.snapshot.qr).toBeUndefined();
  });
});
