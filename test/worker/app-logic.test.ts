import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  groupActivationCode,
  isPlausibleActivationCode,
  normalizeActivationCode,
} from '../../client/app/lib/activation.ts';
import { claimLabel, claimLabels } from '../../client/app/lib/claims.ts';
import { deadlineFrom, formatCountdown, secondsLeft } from '../../client/app/lib/countdown.ts';
import { defaultDeviceName, describeDevice, describeMismatch, describePlace } from '../../client/app/lib/device.ts';
import { MESSAGE_KEYS, pickLocale, t } from '../../client/app/lib/i18n.ts';
import { loginOutcome, problemFromBody, problemMessage } from '../../client/app/lib/problems.ts';
import { loginFromText, pathForRoute, routeFromLocation } from '../../client/app/lib/route.ts';
import { buildLoginUrl } from '../../src/mobile/protocol.ts';

const ORIGIN = 'http://localhost:8787';
const LOGIN_ID = 'a'.repeat(64);
/** A rotating QR frame as it follows the login id (src/session/rotation.ts). */
const FRAME = 'r12.S3cr3t_-mac-value-1234';

describe('activation codes', () => {
  it('accepts any case, spaces, dashes and dots between groups', () => {
    for (const typed of ['k7qm-4txr-9hwd', 'K7QM 4TXR 9HWD', ' k7qm4txr9hwd ', 'K7QM–4TXR.9HWD', 'k7qm_4txr\t9hwd']) {
      expect(normalizeActivationCode(typed)).toBe('K7QM4TXR9HWD');
    }
  });

  it('groups a code in fours for display', () => {
    expect(groupActivationCode('k7qm4txr9hwd2nc')).toBe('K7QM-4TXR-9HWD-2NC');
    expect(groupActivationCode('')).toBe('');
  });

  it('normalising is idempotent and grouping round-trips (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const once = normalizeActivationCode(text);
        expect(normalizeActivationCode(once)).toBe(once);
        if (isPlausibleActivationCode(once)) expect(normalizeActivationCode(groupActivationCode(once))).toBe(once);
      }),
    );
  });

  it('flags obviously incomplete or foreign input before sending it', () => {
    expect(isPlausibleActivationCode(normalizeActivationCode('K7QM-4TXR-9HWD'))).toBe(true);
    expect(isPlausibleActivationCode(normalizeActivationCode('K7QM'))).toBe(false);
    expect(isPlausibleActivationCode(normalizeActivationCode('K7QM-4TXR-9HW?'))).toBe(false);
  });

});

describe('routing from the location', () => {
  const at = (pathname: string, hash = '') => routeFromLocation({ origin: ORIGIN, pathname, hash });

  it('opens a login from the same-device / QR link', () => {
    const url = new URL(buildLoginUrl(ORIGIN, LOGIN_ID, FRAME));
    expect(at(url.pathname, url.hash)).toEqual({ screen: 'login', loginId: LOGIN_ID, frame: FRAME, origin: ORIGIN });
  });

  it('shows the scanner for /key/login without a fragment, and flags a damaged one', () => {
    expect(at('/key/login')).toEqual({ screen: 'scan', invalidLink: false });
    expect(at('/key/login', `#${LOGIN_ID}`)).toEqual({ screen: 'scan', invalidLink: true });
    expect(at('/key/login', `#${LOGIN_ID.slice(1)}.${FRAME}`)).toEqual({ screen: 'scan', invalidLink: true });
  });

  it('prefills enrolment from the activation link', () => {
    expect(at('/key/enrol', '#k7qm-4txr-9hwd')).toEqual({ screen: 'enrol', code: 'K7QM4TXR9HWD' });
    expect(at('/key/enrol', '#K7QM%204TXR%209HWD')).toEqual({ screen: 'enrol', code: 'K7QM4TXR9HWD' });
    expect(at('/key/enrol', '#K7QM%E0')).toEqual({ screen: 'enrol', code: 'K7QM%E0' });
    expect(at('/key/enrol/')).toEqual({ screen: 'enrol', code: '' });
  });

  it('falls back to home', () => {
    expect(at('/key/')).toEqual({ screen: 'home' });
    expect(at('/key')).toEqual({ screen: 'home' });
  });

  it('builds paths that route back to the same screen', () => {
    for (const route of [
      { screen: 'home' } as const,
      { screen: 'scan', invalidLink: false } as const,
      { screen: 'login', loginId: LOGIN_ID, frame: FRAME, origin: ORIGIN } as const,
    ]) {
      const url = new URL(pathForRoute(route), ORIGIN);
      expect(routeFromLocation({ origin: ORIGIN, pathname: url.pathname, hash: url.hash })).toEqual(route);
    }
  });

  it('reads a scanned or pasted login, refusing other servers and other text', () => {
    expect(loginFromText(` ${buildLoginUrl(ORIGIN, LOGIN_ID, FRAME)}\n`, ORIGIN)).toEqual({
      ok: true,
      loginId: LOGIN_ID,
      frame: FRAME,
      origin: ORIGIN,
    });
    expect(loginFromText(buildLoginUrl('https://evil.example', LOGIN_ID, FRAME), ORIGIN)).toEqual({
      ok: false,
      reason: 'other-origin',
    });
    expect(loginFromText('hello', ORIGIN)).toEqual({ ok: false, reason: 'not-a-login' });
    expect(loginFromText(`${ORIGIN}/key/enrol#${LOGIN_ID}.${FRAME}`, ORIGIN)).toEqual({ ok: false, reason: 'not-a-login' });
  });
});

describe('countdown from the server clock', () => {
  it('counts from expires_at − now, whatever the phone clock says', () => {
    // The phone's clock is 10 minutes behind the server's.
    const serverNow = 1_800_000_000_000;
    const localNow = serverNow - 600_000;
    const deadline = deadlineFrom(serverNow + 180_000, serverNow, localNow);
    expect(secondsLeft(deadline, localNow)).toBe(180);
    expect(secondsLeft(deadline, localNow + 54_500)).toBe(126);
    expect(secondsLeft(deadline, localNow + 179_001)).toBe(1);
    expect(secondsLeft(deadline, localNow + 180_000)).toBe(0);
    expect(secondsLeft(deadline, localNow + 999_000)).toBe(0);
  });

  it('formats m:ss', () => {
    expect(formatCountdown(180)).toBe('3:00');
    expect(formatCountdown(125)).toBe('2:05');
    expect(formatCountdown(9)).toBe('0:09');
    expect(formatCountdown(-3)).toBe('0:00');
  });
});

describe('claim labels', () => {
  it('names standard OIDC claims in Czech and English', () => {
    expect(claimLabel('given_name', 'cs')).toBe('Jméno');
    expect(claimLabel('family_name', 'cs')).toBe('Příjmení');
    expect(claimLabel('birthdate', 'cs')).toBe('Datum narození');
    expect(claimLabel('email', 'en')).toBe('Email address');
  });

  it('shows unknown claims by name, never hides them, and drops duplicates', () => {
    expect(claimLabels(['given_name', 'x_custom', 'given_name', 'toString'], 'en')).toEqual([
      { claim: 'given_name', label: 'Given name' },
      { claim: 'x_custom', label: 'x_custom' },
      { claim: 'toString', label: 'toString' },
    ]);
  });
});

describe('problems → messages', () => {
  it('reads the code from the problem type', () => {
    const problem = problemFromBody(400, {
      type: 'urn:mobile-key:problem:invalid-activation-code',
      title: 'Invalid activation code',
      status: 400,
    });
    expect(problem).toEqual({ code: 'invalid-activation-code', status: 400, title: 'Invalid activation code' });
    expect(t('cs', problemMessage(problem))).toBe('Aktivační kód neplatí. Zkontrolujte ho a zadejte znovu.');
  });

  it('tells a used and an expired activation code apart from a mistyped one', () => {
    expect(t('cs', problemMessage(problemFromBody(409, { type: 'urn:mobile-key:problem:activation-code-used' })))).toBe(
      'Tento aktivační kód už byl použit. Požádejte o nový.',
    );
    expect(t('en', problemMessage(problemFromBody(410, { type: 'urn:mobile-key:problem:activation-code-expired' })))).toBe(
      'This activation code has expired. Ask for a new one.',
    );
  });

  it('tells the phone a login was cancelled by the browser that started it', () => {
    const problem = problemFromBody(409, { type: 'urn:mobile-key:problem:login-cancelled', title: 'Login cancelled in the browser', status: 409 });
    expect(t('en', problemMessage(problem))).toBe('The sign-in was cancelled by the browser that started it.');
    expect(t('cs', problemMessage(problem))).toBe('Přihlášení bylo zrušeno v prohlížeči, který ho zahájil.');
    expect(loginOutcome(problem)).toBe('error');
  });

  it('tells the person a QR frame went stale (scan again) and a v1 key to update, in both languages', () => {
    const stale = problemFromBody(410, { type: 'urn:mobile-key:problem:qr-code-expired', status: 410 });
    expect(t('en', problemMessage(stale))).toBe('This code is no longer valid — scan the code on the screen again.');
    expect(t('cs', problemMessage(stale))).toBe('Tento kód už neplatí — naskenujte znovu kód na obrazovce.');
    // Not the expired login's screen: the login itself goes on.
    expect(loginOutcome(stale)).toBe('error');
    const old = problemFromBody(400, { type: 'urn:mobile-key:problem:unsupported-protocol-version', status: 400 });
    expect(t('en', problemMessage(old))).toBe('This version of the mobile key is no longer supported. Update the app.');
  });

  it('tells the person when the service asked for another identity (login_hint)', () => {
    expect(t('en', problemMessage(problemFromBody(403, { type: 'urn:mobile-key:problem:wrong-identity' })))).toBe(
      'The service asks for another person to log in. This key belongs to someone else; use that person’s key.',
    );
  });

  it('maps throttling, expiry and revoked keys to their own messages', () => {
    expect(t('cs', problemMessage({ code: 'too-many-requests', status: 429 }))).toBe(
      'Příliš mnoho pokusů. Počkejte prosím chvíli a zkuste to znovu.',
    );
    expect(problemFromBody(429, 'Too Many Requests').code).toBe('too-many-requests');
    expect(t('en', problemMessage({ code: 'login-expired', status: 410 }))).toBe('This login expired.');
    expect(loginOutcome({ code: 'login-expired', status: 410 })).toBe('expired');
    expect(loginOutcome({ code: 'login-claimed', status: 409 })).toBe('error');
    expect(problemMessage({ code: 'device-revoked', status: 403 })).toBe('problemDeviceRevoked');
  });

  it('keeps the server clock of a refused revocation time and says to fix the clock', () => {
    const problem = problemFromBody(400, { type: 'urn:mobile-key:problem:timestamp-out-of-window', status: 400, now: 1795941612000 });
    expect(problem).toEqual({ code: 'timestamp-out-of-window', status: 400, now: 1795941612000 });
    expect(problemFromBody(400, { type: 'urn:mobile-key:problem:timestamp-out-of-window', now: '1' }).now).toBeUndefined();
    expect(t('cs', problemMessage(problem))).toBe('Čas v tomto zařízení se příliš liší od času služby. Nastavte správný čas a zkuste to znovu.');
  });

  it('gives a generic message for unknown problems and non-problem bodies', () => {
    expect(problemFromBody(502, '<html>')).toEqual({ code: 'http-502', status: 502 });
    expect(problemMessage({ code: 'http-502', status: 502 })).toBe('problemGeneric');
    expect(problemMessage({ code: 'network', status: 0 })).toBe('problemNetwork');
  });
});

describe('texts and language', () => {
  it('has every text in both languages, none empty', () => {
    for (const key of MESSAGE_KEYS) {
      expect(t('cs', key).trim(), key).not.toBe('');
      expect(t('en', key).trim(), key).not.toBe('');
    }
  });

  it('speaks natural Czech with diacritics', () => {
    expect(t('cs', 'appName')).toBe('Mobilní klíč');
    expect(t('cs', 'approve')).toBe('Schválit');
    expect(t('cs', 'deny')).toBe('Odmítnout');
    expect(t('cs', 'activationCode')).toBe('Zadejte aktivační kód');
    expect(t('cs', 'expiredText')).toContain('Toto přihlášení vypršelo');
    expect(t('en', 'expiredText')).toContain('This login expired');
  });

  it('fills placeholders', () => {
    expect(t('cs', 'loginAsks', { client: 'Demo služba' })).toBe('Demo služba žádá o přihlášení');
    expect(t('en', 'timeLeft', { time: '2:05' })).toBe('2:05 left');
  });

  it('picks a saved choice, else the browser languages, else Czech', () => {
    expect(pickLocale('en', ['cs-CZ'])).toBe('en');
    expect(pickLocale(null, ['de-DE', 'en-US', 'cs'])).toBe('en');
    expect(pickLocale(null, ['sk-SK'])).toBe('cs');
    expect(pickLocale('fr', ['fr-FR'])).toBe('cs');
    expect(pickLocale(null, [])).toBe('cs');
  });
});

describe('device descriptions', () => {
  const android =
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

  it('names this device after its browser and OS', () => {
    expect(defaultDeviceName(android, 'en')).toBe('Chrome on Android');
    expect(defaultDeviceName(android, 'cs')).toBe('Chrome na zařízení Android');
    expect(defaultDeviceName('', 'cs')).toBe('Můj prohlížeč');
  });

  it('describes the requesting browser’s place and device', () => {
    const names: Record<string, string> = { CZ: 'Czechia' };
    expect(describePlace({ country: 'CZ', city: 'Brno' }, (c) => names[c])).toBe('Brno, Czechia');
    expect(describePlace({ country: 'PL' }, () => undefined)).toBe('PL');
    // Cloudflare's "unknown country" is no place at all.
    expect(describePlace({ country: 'XX' }, () => undefined)).toBeNull();
    expect(describePlace({}, () => undefined)).toBeNull();
    expect(describeDevice({ browser: 'Firefox 140', os: 'Windows' })).toBe('Firefox 140, Windows');
    expect(describeDevice({})).toBeNull();
  });

  it('names both countries of a mismatch in the app’s language, and nothing without a flagged mismatch', () => {
    const cs = new Intl.DisplayNames(['cs'], { type: 'region' });
    const name = (code: string) => cs.of(code);
    expect(describeMismatch({ requester: { country: 'DE' }, phone_country: 'CZ', country_mismatch: true }, name)).toEqual({ started: 'Německo', here: 'Česko' });
    expect(describeMismatch({ requester: { country: 'DE' }, phone_country: 'CZ', country_mismatch: false }, name)).toBeNull();
    expect(describeMismatch({ requester: {}, phone_country: 'CZ', country_mismatch: true }, name)).toBeNull();
    expect(describeMismatch({ requester: { country: 'DE' }, phone_country: 'Czechia', country_mismatch: true }, name)).toBeNull();
  });
});
