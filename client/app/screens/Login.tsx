import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import { api, isLoginBrowser, wayBack, type ScanResponse, type WayBack } from '../lib/api.ts';
import { claimLabels } from '../lib/claims.ts';
import { deadlineFrom, formatCountdown, secondsLeft, type Deadline } from '../lib/countdown.ts';
import { describeDevice, describeMismatch, describePlace } from '../lib/device.ts';
import { signAction } from '../lib/keys.ts';
import { loginOutcome, problemMessage, type ApiProblem } from '../lib/problems.ts';
import { listKeys, type StoredKey } from '../lib/store.ts';

type LoginState =
  | { status: 'loading' }
  | { status: 'no-key' }
  | { status: 'choose-key'; keys: StoredKey[] }
  | { status: 'context' | 'sending'; key: StoredKey; scan: ScanResponse; deadline: Deadline }
  | { status: 'approved'; client: string; sameBrowser: boolean }
  | { status: 'denied'; client: string; wrongNumber: boolean }
  | { status: 'expired' }
  | { status: 'error'; problem: ApiProblem; retry: (() => void) | null };

/**
 * A login opened from its QR or the same-device link: reads it with this device's key (the
 * scan), shows who asks, what is released, from where and the time left, then sends the
 * signed decision. When the phone is in another country than the browser, a warning says so
 * and Deny is the primary, focused action; when the service requires number matching, approving
 * is picking the number the login page shows from three.
 */
export function Login({ loginId, frame, origin }: { loginId: string; frame: string; origin: string }) {
  const { t, locale, navigate, announce } = useApp();
  const [state, setState] = useState<LoginState>({ status: 'loading' });
  const [now, setNow] = useState(() => Date.now());
  // What the person consents to with an approval: this login only (the default) or always for the service.
  const [consent, setConsent] = useState<'once' | 'always'>('once');
  const heading = useHeadingFocus<HTMLHeadingElement>(state.status === 'sending' ? 'context' : state.status);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);
  const denyButton = useRef<HTMLButtonElement>(null);
  const warned = state.status === 'context' && state.scan.country_mismatch === true;
  // After the heading's focus (declared above): with a warning, the focus rests on Deny.
  useEffect(() => {
    if (warned) denyButton.current?.focus();
  }, [warned]);
  // Ended without approval (denied here, expired, cancelled by the page): on the device that
  // started the login, the way back to the service with its error (src/oidc/return.ts).
  const [back, setBack] = useState<WayBack | null>(null);
  const endedUnapproved = state.status === 'denied' || state.status === 'expired' || (state.status === 'error' && state.problem.code === 'login-cancelled');
  useEffect(() => {
    if (!endedUnapproved) return;
    void wayBack(loginId).then((found) => alive.current && setBack(found));
  }, [endedUnapproved]);
  const backToService = back && (
    <form method="post" action={back.action} class="actions" data-way-back="">
      <p class="hint">{t('backToServiceHint')}</p>
      <button type="submit" class="primary" data-action="back-to-service">
        {t('backToService', { client: back.client })}
      </button>
    </form>
  );

  const finish = (next: LoginState, announcement: string) => {
    if (!alive.current) return;
    setState(next);
    announce(announcement);
  };

  const failed = (problem: ApiProblem, retry: (() => void) | null) => {
    if (loginOutcome(problem) === 'expired') finish({ status: 'expired' }, t('expiredTitle'));
    else finish({ status: 'error', problem, retry }, `${t(errorTitle(problem))}. ${t(problemMessage(problem))}`);
  };

  const scanWith = async (key: StoredKey) => {
    setState({ status: 'loading' });
    const retry = () => void scanWith(key);
    let signature: string;
    try {
      signature = await signAction(key.keyPair.privateKey, { origin, action: 'scan', loginId, deviceId: key.deviceId });
    } catch {
      return failed({ code: 'invalid-signature', status: 0 }, null);
    }
    // The QR's frame is good for a few seconds only: it goes at once, and is not retried.
    const result = await api.scan(loginId, { frame, device_id: key.deviceId, signature });
    if (!alive.current) return;
    if (!result.ok) return failed(result.problem, result.problem.code === 'network' && !frame.startsWith('r') ? retry : null);
    const deadline = deadlineFrom(result.value.expires_at, result.value.now, Date.now());
    setNow(Date.now());
    setState({ status: 'context', key, scan: result.value, deadline });
    announce(t('loginAsks', { client: result.value.client.name }));
  };

  const answer = async (decision: 'approve' | 'deny', number?: number) => {
    if (state.status !== 'context') return;
    const { key, scan } = state;
    setState({ ...state, status: 'sending' });
    const retry = () => setState({ ...state, status: 'context' });
    // The pick and the consent are signed with the decision, exactly as they are sent.
    const extra = {
      ...(number === undefined ? {} : { number }),
      ...(decision === 'approve' && (scan.claims ?? []).length > 0 ? { consent } : {}),
    };
    let signature: string;
    try {
      signature = await signAction(key.keyPair.privateKey, { origin, action: decision, loginId, deviceId: key.deviceId, nonce: scan.nonce, ...extra });
    } catch {
      return failed({ code: 'invalid-signature', status: 0 }, null);
    }
    const result = await api.answer(loginId, { device_id: key.deviceId, decision, nonce: scan.nonce, signature, ...extra });
    if (!result.ok) return failed(result.problem, result.problem.code === 'network' ? retry : null);
    const client = result.value.client_name || scan.client.name;
    if (result.value.status === 'denied') {
      const wrongNumber = result.value.reason === 'wrong-number';
      return finish({ status: 'denied', client, wrongNumber }, wrongNumber ? t('wrongNumberText', { client }) : t('deniedTitle'));
    }
    const sameBrowser = await isLoginBrowser(loginId);
    finish({ status: 'approved', client, sameBrowser }, t('approvedTitle'));
  };

  useEffect(() => {
    void listKeys().then(
      (all) => {
        const keys = all.filter((key) => key.origin === origin);
        if (keys.length === 0) setState({ status: 'no-key' });
        else if (keys.length === 1) void scanWith(keys[0]!);
        else setState({ status: 'choose-key', keys });
      },
      () => setState({ status: 'no-key' }),
    );
  }, []);

  // The countdown: ticks while the context is shown; at zero the login is over.
  const counting = state.status === 'context' || state.status === 'sending';
  useEffect(() => {
    if (!counting) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [counting]);
  const left = counting ? secondsLeft(state.deadline, now) : 0;
  useEffect(() => {
    if (state.status === 'context' && left === 0) finish({ status: 'expired' }, t('expiredTitle'));
  }, [counting, left]);

  const scanAnother = (
    <button type="button" class="secondary" data-action="scan-another" onClick={() => navigate({ screen: 'scan', invalidLink: false })}>
      {t('scanAnother')}
    </button>
  );

  switch (state.status) {
    case 'loading':
      return (
        <main class="screen" data-screen="login" data-state="loading" aria-busy="true">
          <h1 ref={heading} tabIndex={-1}>
            {t('loginTitle')}
          </h1>
          <p class="loading">{t('loginLoading')}</p>
        </main>
      );
    case 'no-key':
      return (
        <main class="screen" data-screen="login" data-state="no-key">
          <h1 ref={heading} tabIndex={-1}>
            {t('loginTitle')}
          </h1>
          <p class="notice error" role="alert">
            {t('noKeyForServer')}
          </p>
          <div class="actions">
            <button type="button" class="primary" data-action="enrol" onClick={() => navigate({ screen: 'enrol', code: '' })}>
              {t('enrolAction')}
            </button>
          </div>
        </main>
      );
    case 'choose-key':
      return (
        <main class="screen" data-screen="login" data-state="choose-key">
          <h1 ref={heading} tabIndex={-1}>
            {t('chooseKey')}
          </h1>
          <div class="actions">
            {state.keys.map((key) => (
              <button key={key.deviceId} type="button" class="secondary" data-action="use-key" data-device-id={key.deviceId} onClick={() => void scanWith(key)}>
                {t('useKey', { name: key.name })}
              </button>
            ))}
          </div>
        </main>
      );
    case 'context':
    case 'sending': {
      const { scan } = state;
      const regions = new Intl.DisplayNames([locale], { type: 'region' });
      const regionName = (code: string) => {
        try {
          return regions.of(code);
        } catch {
          return undefined;
        }
      };
      const place = describePlace(scan.requester ?? {}, regionName);
      const mismatch = describeMismatch(scan, regionName);
      const choices = numberChoices(scan.number_choices);
      const device = describeDevice(scan.requester ?? {});
      const started = new Intl.DateTimeFormat(locale === 'cs' ? 'cs-CZ' : 'en-GB', { timeStyle: 'short' }).format(
        // The server's creation time, moved onto the phone's clock like the deadline.
        Date.now() - (scan.now - scan.created_at),
      );
      const sending = state.status === 'sending';
      // "{client} žádá o přihlášení": the name is marked up inside the sentence.
      const [asksBefore, asksAfter] = t('loginAsks').split('{client}');
      return (
        <main class="screen" data-screen="login" data-state={state.status} aria-busy={sending}>
          <h1 ref={heading} tabIndex={-1}>
            {asksBefore}
            <strong data-client-name="">{scan.client.name}</strong>
            {asksAfter}
          </h1>
          <p class="countdown" role="timer" data-countdown="" data-seconds-left={left}>
            {t('timeLeft', { time: formatCountdown(left) })}
          </p>
          {mismatch && (
            <div class="notice error mismatch" role="alert" data-warning="country-mismatch">
              <p class="mismatch-title">{t('mismatchTitle')}</p>
              <p>{t('mismatchText', mismatch)}</p>
            </div>
          )}
          <section aria-labelledby="claims-heading">
            <h2 id="claims-heading">{t('claimsTitle')}</h2>
            <ul class="claims" aria-labelledby="claims-heading" data-claims="">
              {claimLabels(scan.claims ?? [], locale).map(({ claim, label }) => (
                <li key={claim} data-claim={claim}>
                  {label}
                </li>
              ))}
            </ul>
            {(scan.claims ?? []).length > 0 ? (
              <fieldset class="consent" data-consent="">
                <legend>{t('consentTitle')}</legend>
                {(['once', 'always'] as const).map((value) => (
                  <label key={value}>
                    <input type="radio" name="consent" value={value} checked={consent === value} onChange={() => setConsent(value)} />{' '}
                    {t(value === 'once' ? 'consentOnce' : 'consentAlways')}
                  </label>
                ))}
              </fieldset>
            ) : null}
          </section>
          <section aria-labelledby="requester-heading">
            <h2 id="requester-heading">{t('requesterTitle')}</h2>
            <dl class="facts">
              <div>
                <dt>{t('requesterPlace')}</dt>
                <dd data-field="place">{place ?? t('unknown')}</dd>
              </div>
              <div>
                <dt>{t('requesterDevice')}</dt>
                <dd data-field="device">{device ?? t('unknown')}</dd>
              </div>
              <div>
                <dt>{t('requesterStarted')}</dt>
                <dd data-field="started">{started}</dd>
              </div>
            </dl>
          </section>
          <p class="hint">{t('checkHint')}</p>
          <div class={choices ? 'actions decide' : 'actions row decide'}>
            {choices && (
              <div class="numbers" role="group" aria-labelledby="pick-heading" data-number-choices="">
                <p id="pick-heading" class="pick-heading">{t('pickNumber')}</p>
                <div class="actions row">
                  {choices.map((n) => (
                    <button
                      key={n}
                      type="button"
                      class={mismatch ? 'secondary number' : 'primary number'}
                      data-action="pick"
                      data-number={n}
                      aria-label={t('pickNumberButton', { number: n })}
                      disabled={sending}
                      onClick={() => void answer('approve', n)}
                    >
                      {String(n)}
                    </button>
                  ))}
                </div>
              </div>
            )}
            <button
              ref={denyButton}
              type="button"
              class={mismatch ? 'primary' : 'danger'}
              data-action="deny"
              data-default={mismatch ? '' : undefined}
              disabled={sending}
              onClick={() => void answer('deny')}
            >
              {t('deny')}
            </button>
            {!choices && (
              <button type="button" class={mismatch ? 'secondary' : 'primary'} data-action="approve" disabled={sending} onClick={() => void answer('approve')}>
                {t('approve')}
              </button>
            )}
          </div>
        </main>
      );
    }
    case 'approved':
      return (
        <main class="screen" data-screen="login" data-state="approved">
          <div class="result success" data-result="approved">
            <h1 ref={heading} tabIndex={-1}>
              {t('approvedTitle')}
            </h1>
            <p>{state.sameBrowser ? t('approvedSameDevice') : t('approvedText', { client: state.client })}</p>
          </div>
          {!state.sameBrowser && (
            <div class="actions">
              <button type="button" class="secondary" data-action="home" onClick={() => navigate({ screen: 'home' })}>
                {t('navHome')}
              </button>
            </div>
          )}
          {state.sameBrowser && (
            <div class="actions">
              <a
                class="button primary"
                href={`/login/${loginId}`}
                data-action="back-to-login"
                onClick={(event) => {
                  // Opened by the page's button in this tab: going back keeps one history entry.
                  if (history.length > 1) {
                    event.preventDefault();
                    history.back();
                  }
                }}
              >
                {t('backToLogin')}
              </a>
            </div>
          )}
        </main>
      );
    case 'denied':
      return (
        <main class="screen" data-screen="login" data-state="denied">
          <div class="result neutral" data-result="denied">
            <h1 ref={heading} tabIndex={-1}>
              {t('deniedTitle')}
            </h1>
            <p data-reason={state.wrongNumber ? 'wrong-number' : undefined}>
              {state.wrongNumber ? t('wrongNumberText', { client: state.client }) : t('deniedText', { client: state.client })}
            </p>
          </div>
          {backToService}
          <div class="actions">
            <button type="button" class="secondary" data-action="home" onClick={() => navigate({ screen: 'home' })}>
              {t('navHome')}
            </button>
          </div>
        </main>
      );
    case 'expired':
      return (
        <main class="screen" data-screen="login" data-state="expired">
          <div class="result warning" data-result="expired">
            <h1 ref={heading} tabIndex={-1}>
              {t('expiredTitle')}
            </h1>
            <p>{t('expiredText')}</p>
          </div>
          {backToService}
          <div class="actions">{scanAnother}</div>
        </main>
      );
    case 'error':
      return (
        <main class="screen" data-screen="login" data-state="error" data-problem={state.problem.code}>
          <div class={`result ${isEnded(state.problem) ? 'neutral' : 'error'}`} data-result="error">
            <h1 ref={heading} tabIndex={-1}>
              {t(errorTitle(state.problem))}
            </h1>
            <p>{t(problemMessage(state.problem))}</p>
          </div>
          {backToService}
          <div class="actions">
            {state.retry && (
              <button type="button" class="primary" data-action="retry" onClick={state.retry}>
                {t('tryAgain')}
              </button>
            )}
            {scanAnother}
          </div>
        </main>
      );
  }
}

/** The scan's number choices when they are three distinct two-digit integers, else null (nothing to pick). */
function numberChoices(value: unknown): number[] | null {
  if (!Array.isArray(value) || value.length !== 3) return null;
  const ok = value.every((n) => Number.isInteger(n) && n >= 10 && n <= 99) && new Set(value).size === 3;
  return ok ? (value as number[]) : null;
}

/**
 * The heading for a failed login: a login already decided (approved or denied, perhaps by this
 * very person a moment ago, or cancelled) did not fail, it is over.
 */
function errorTitle(problem: ApiProblem): 'endedTitle' | 'errorTitle' {
  return isEnded(problem) ? 'endedTitle' : 'errorTitle';
}

/** The login ended without this phone (decided elsewhere, or cancelled by the browser): no fault of anyone's. */
function isEnded(problem: ApiProblem): boolean {
  return problem.code === 'login-decided' || problem.code === 'login-cancelled';
}
