import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import { defaultDeviceName } from '../lib/device.ts';
import { createDeviceKey } from '../lib/keys.ts';
import { claimPairing, claimStatus, openPairing } from '../lib/pairing.ts';
import { problemMessage, type ApiProblem } from '../lib/problems.ts';
import { putKey } from '../lib/store.ts';

type View =
  | { step: 'loading' }
  | { step: 'ask'; identityName: string; error?: string }
  | { step: 'waiting'; name: string }
  | { step: 'done'; name: string }
  | { step: 'declined' }
  | { step: 'error'; problem: ApiProblem };

/** How often the new device asks whether its claim was confirmed, in milliseconds. */
const POLL_MS = 1000;

/**
 * Joining a pairing as the new key (docs/pairing.md): first whose key it becomes ("You are
 * adding a key for Jana N."), then the key is made and the claim sent with the proposed name,
 * then the other key confirms; only then is the key stored on this device.
 */
export function PairJoin({ pairingId, secret }: { pairingId: string; secret: string }) {
  const { t, locale, navigate, announce } = useApp();
  const [view, setView] = useState<View>({ step: 'loading' });
  const [name, setName] = useState(() => defaultDeviceName(navigator.userAgent, locale));
  const heading = useHeadingFocus<HTMLHeadingElement>(view.step);
  const polling = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    // The pairing secret lives in the fragment: keep it out of the history once read.
    history.replaceState(null, '', '/key/pair');
    void openPairing(pairingId, secret).then((result) => {
      if (!result.ok) return setView({ step: 'error', problem: result.problem });
      if (result.value.state !== 'pending') return setView({ step: 'error', problem: { code: 'pairing-claimed', status: 409 } });
      setView({ step: 'ask', identityName: result.value.identity_name });
    });
    return () => {
      if (polling.current) clearTimeout(polling.current);
    };
  }, []);

  const join = async (event: Event) => {
    event.preventDefault();
    if (view.step !== 'ask') return;
    const deviceName = name.trim();
    if (!deviceName) return setView({ ...view, error: t('nameMissing') });
    let key: Awaited<ReturnType<typeof createDeviceKey>>;
    try {
      key = await createDeviceKey();
    } catch {
      return setView({ ...view, error: t('storageUnavailable') });
    }
    const claimed = await claimPairing(pairingId, secret, key.keyPair, key.publicJwk, deviceName);
    if (!claimed.ok) return setView({ step: 'error', problem: claimed.problem });
    setView({ step: 'waiting', name: deviceName });
    announce(t('pairJoinWaiting', { name: deviceName }));
    const check = async () => {
      const status = await claimStatus(pairingId, secret, claimed.value.device_id);
      if (!status.ok) return setView({ step: 'error', problem: status.problem });
      if (status.value.state === 'claimed') {
        polling.current = setTimeout(() => void check(), POLL_MS);
        return;
      }
      if (status.value.state !== 'completed' || !status.value.sub) {
        return setView({ step: 'error', problem: { code: status.value.state === 'expired' ? 'pairing-expired' : 'pairing-ended', status: 409 } });
      }
      try {
        await putKey({
          deviceId: status.value.device_id,
          sub: status.value.sub,
          origin: location.origin,
          name: deviceName,
          createdAt: Date.now(),
          publicJwk: key.publicJwk,
          keyPair: key.keyPair,
        });
      } catch {
        return setView({ step: 'error', problem: { code: 'storage', status: 0 } });
      }
      setView({ step: 'done', name: deviceName });
      announce(t('pairJoinDone'));
    };
    polling.current = setTimeout(() => void check(), POLL_MS);
  };

  return (
    <main class="screen" data-screen="pair-join" data-state={view.step}>
      <h1 ref={heading} tabIndex={-1}>
        {view.step === 'done' ? t('pairJoinDone') : t('pairJoinTitle')}
      </h1>
      {view.step === 'loading' && <p aria-busy="true">{t('loading')}</p>}
      {view.step === 'ask' && (
        <form onSubmit={join} noValidate>
          <p class="whose" data-identity-name="">
            <strong>{t('pairJoinWhose', { name: view.identityName || '—' })}</strong>
          </p>
          <p>{t('pairJoinCheck')}</p>
          <div class="field">
            <label for="device-name">{t('deviceName')}</label>
            <input
              id="device-name"
              name="name"
              type="text"
              maxLength={64}
              autoComplete="off"
              value={name}
              onInput={(event) => setName((event.target as HTMLInputElement).value)}
            />
            <p class="hint">{t('deviceNameHint')}</p>
          </div>
          {view.error && (
            <p class="notice error" role="alert">
              {view.error}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="primary" data-action="pair-join">
              {t('pairJoinSubmit')}
            </button>
            <button type="button" class="secondary" data-action="pair-decline" onClick={() => setView({ step: 'declined' })}>
              {t('pairJoinDecline')}
            </button>
          </div>
        </form>
      )}
      {view.step === 'waiting' && <p aria-busy="true">{t('pairJoinWaiting', { name: view.name })}</p>}
      {view.step === 'done' && (
        <div class="result success" data-result="paired">
          <p>{t('pairJoinDoneText', { name: view.name })}</p>
        </div>
      )}
      {view.step === 'declined' && <p class="notice">{t('pairJoinDeclined')}</p>}
      {view.step === 'error' && (
        <p class="notice error" role="alert" data-error={view.problem.code}>
          {view.problem.code === 'storage' ? t('storageUnavailable') : t(problemMessage(view.problem))}
        </p>
      )}
      {(view.step === 'done' || view.step === 'declined' || view.step === 'error') && (
        <div class="actions">
          <button type="button" class="secondary" data-action="home" onClick={() => navigate({ screen: 'home' })}>
            {t('navHome')}
          </button>
        </div>
      )}
    </main>
  );
}
