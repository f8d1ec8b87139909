import { useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import { api } from '../lib/api.ts';
import { groupActivationCode, isPlausibleActivationCode, normalizeActivationCode } from '../lib/activation.ts';
import { defaultDeviceName } from '../lib/device.ts';
import { createDeviceKey } from '../lib/keys.ts';
import { problemMessage, type ApiProblem } from '../lib/problems.ts';
import { previewEnrolment } from '../lib/pairing.ts';
import { putKey } from '../lib/store.ts';

type EnrolState =
  | { status: 'form'; error?: { field: 'code' | 'name' | 'form'; message: string; code?: string } }
  | { status: 'sending' }
  | { status: 'confirm'; identityName: string; code: string; name: string }
  | { status: 'declined' }
  | { status: 'done'; name: string };

/**
 * Enrolment: an activation code (typed, or from `/key/enrol#CODE`) and a device name; shows
 * whose identity the code belongs to ("You are adding a key for Jana N. — is that you?") and
 * only then creates a non-extractable P-256 key, enrols its public key, stores the pair in IndexedDB.
 */
export function Enrol({ initialCode }: { initialCode: string }) {
  const { t, locale, navigate, announce } = useApp();
  const [code, setCode] = useState(() => groupActivationCode(initialCode));
  const [name, setName] = useState(() => defaultDeviceName(navigator.userAgent, locale));
  const [state, setState] = useState<EnrolState>({ status: 'form' });
  const heading = useHeadingFocus<HTMLHeadingElement>(state.status === 'done' || state.status === 'confirm' || state.status === 'declined' ? state.status : 'form');

  const fail = (error: { field: 'code' | 'name' | 'form'; message: string; code?: string }) => {
    setState({ status: 'form', error });
    announce(error.message);
    requestAnimationFrame(() => document.getElementById(error.field === 'name' ? 'device-name' : 'activation-code')?.focus());
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const normalized = normalizeActivationCode(code);
    if (!isPlausibleActivationCode(normalized)) return fail({ field: 'code', message: t('codeTooShort') });
    const deviceName = name.trim();
    if (!deviceName) return fail({ field: 'name', message: t('nameMissing') });
    setState({ status: 'sending' });
    // Whose key it becomes, before any key is made.
    const preview = await previewEnrolment(normalized);
    if (!preview.ok) return fail(problemField(preview.problem, t(problemMessage(preview.problem))));
    setState({ status: 'confirm', identityName: preview.value.identity_name, code: normalized, name: deviceName });
    announce(t('enrolWhose', { name: preview.value.identity_name || '—' }));
  };

  const enrol = async (normalized: string, deviceName: string) => {
    setState({ status: 'sending' });
    let key: Awaited<ReturnType<typeof createDeviceKey>>;
    try {
      key = await createDeviceKey();
    } catch {
      return fail({ field: 'form', message: t('storageUnavailable') });
    }
    const result = await api.enrol({ activation_code: normalized, public_jwk: key.publicJwk, name: deviceName });
    if (!result.ok) return fail(problemField(result.problem, t(problemMessage(result.problem))));
    try {
      await putKey({
        deviceId: result.value.device_id,
        sub: result.value.sub,
        origin: location.origin,
        name: deviceName,
        createdAt: Date.now(),
        publicJwk: key.publicJwk,
        keyPair: key.keyPair,
      });
    } catch {
      return fail({ field: 'form', message: t('storageUnavailable') });
    }
    setState({ status: 'done', name: deviceName });
    announce(t('enrolDone'));
  };

  if (state.status === 'done') {
    return (
      <main class="screen" data-screen="enrol" data-state="done">
        <div class="result success" data-result="enrolled">
          <h1 ref={heading} tabIndex={-1}>
            {t('enrolDone')}
          </h1>
          <p>{t('enrolDoneText', { name: state.name })}</p>
        </div>
        <div class="actions">
          <button type="button" class="primary" data-action="scan" onClick={() => navigate({ screen: 'scan', invalidLink: false })}>
            {t('scanAction')}
          </button>
          <button type="button" class="secondary" data-action="home" onClick={() => navigate({ screen: 'home' })}>
            {t('navHome')}
          </button>
        </div>
      </main>
    );
  }

  if (state.status === 'confirm' || state.status === 'declined') {
    return (
      <main class="screen" data-screen="enrol" data-state={state.status}>
        <h1 ref={heading} tabIndex={-1}>
          {t('enrolTitle')}
        </h1>
        {state.status === 'confirm' ? (
          <>
            <p class="whose" data-identity-name="">
              <strong>{t('enrolWhose', { name: state.identityName || '—' })}</strong>
            </p>
            <div class="actions">
              <button type="button" class="primary" data-action="enrol-confirm" onClick={() => void enrol(state.code, state.name)}>
                {t('enrolConfirm')}
              </button>
              <button type="button" class="secondary" data-action="enrol-decline" onClick={() => setState({ status: 'declined' })}>
                {t('enrolDecline')}
              </button>
            </div>
          </>
        ) : (
          <>
            <p class="notice">{t('enrolDeclined')}</p>
            <div class="actions">
              <button type="button" class="secondary" data-action="home" onClick={() => navigate({ screen: 'home' })}>
                {t('navHome')}
              </button>
            </div>
          </>
        )}
      </main>
    );
  }

  const error = state.status === 'form' ? state.error : undefined;
  const sending = state.status === 'sending';
  return (
    <main class="screen" data-screen="enrol" data-state={sending ? 'sending' : error ? 'error' : 'form'}>
      <h1 ref={heading} tabIndex={-1}>
        {t('enrolTitle')}
      </h1>
      <p>{t('enrolIntro')}</p>
      <form onSubmit={submit} noValidate aria-busy={sending}>
        <div class="field">
          <label for="activation-code">{t('activationCode')}</label>
          <input
            id="activation-code"
            name="activation_code"
            class="code"
            type="text"
            inputMode="text"
            autoComplete="one-time-code"
            autoCapitalize="characters"
            spellcheck={false}
            value={code}
            aria-invalid={error?.field === 'code'}
            aria-describedby={`activation-code-hint${error?.field === 'code' ? ' enrol-error' : ''}`}
            onInput={(event) => setCode((event.target as HTMLInputElement).value)}
            onBlur={() => setCode(groupActivationCode(code))}
            disabled={sending}
          />
          <p id="activation-code-hint" class="hint">
            {t('activationCodeHint')}
          </p>
        </div>
        <div class="field">
          <label for="device-name">{t('deviceName')}</label>
          <input
            id="device-name"
            name="name"
            type="text"
            maxLength={64}
            autoComplete="off"
            value={name}
            aria-invalid={error?.field === 'name'}
            aria-describedby={`device-name-hint${error?.field === 'name' ? ' enrol-error' : ''}`}
            onInput={(event) => setName((event.target as HTMLInputElement).value)}
            disabled={sending}
          />
          <p id="device-name-hint" class="hint">
            {t('deviceNameHint')}
          </p>
        </div>
        {error && (
          <p id="enrol-error" class="notice error" role="alert" data-error={error.code ?? error.field}>
            {error.message}
          </p>
        )}
        <button type="submit" class="primary" data-action="enrol-submit" disabled={sending}>
          {sending ? t('enrolBusy') : t('enrolSubmit')}
        </button>
      </form>
    </main>
  );
}

/** Which field an enrolment problem belongs to (a wrong code is about the code field). */
function problemField(problem: ApiProblem, message: string) {
  const field = problem.code.startsWith('activation-code-') || problem.code === 'invalid-activation-code' ? 'code' : 'form';
  return { field, message, code: problem.code } as const;
}
