import { useEffect, useRef, useState } from 'preact/hooks';
import { safeRequester } from '../../../src/http/names.ts';
import { Qr } from '../../shared/Qr.tsx';
import { useApp, useHeadingFocus } from '../context.ts';
import { deadlineFrom, formatCountdown, secondsLeft, type Deadline } from '../lib/countdown.ts';
import {
  cancelPairing,
  confirmPairing,
  confirmPairingFromSession,
  readPairing,
  startPairing,
  startPairingFromSession,
  type PairingSnapshot,
} from '../lib/pairing.ts';
import { problemMessage, type ApiProblem } from '../lib/problems.ts';
import { listKeys, type StoredKey } from '../lib/store.ts';

type View =
  | { step: 'loading' }
  | { step: 'no-key' }
  | { step: 'choose'; keys: StoredKey[] }
  | { step: 'live'; key: StoredKey | null; snapshot: PairingSnapshot; deadline: Deadline; busy?: boolean }
  | { step: 'error'; problem: ApiProblem; key?: StoredKey | null };

/**
 * Adding another key, on the existing key's side (docs/pairing.md): start a pairing, show its QR
 * with the countdown, follow it live (WebSocket snapshots, GET as the fallback), show the new
 * device's proposed name and confirm it with this key's signature. A browser without a key but
 * with a fresh single sign-on session (the account's "Add a key" link on a desktop) pairs from
 * the session instead, and confirms as that browser.
 */
export function PairStart() {
  const { t, announce } = useApp();
  const [view, setView] = useState<View>({ step: 'loading' });
  const heading = useHeadingFocus<HTMLHeadingElement>(view.step === 'live' ? view.snapshot.state : view.step);
  const [, tick] = useState(0);
  const socket = useRef<WebSocket | null>(null);
  const poll = useRef<ReturnType<typeof setInterval> | null>(null);

  const show = (key: StoredKey | null, snapshot: PairingSnapshot) =>
    setView({ step: 'live', key, snapshot, deadline: deadlineFrom(snapshot.expiresAt, snapshot.now, Date.now()) });

  const follow = (key: StoredKey | null, pairingId: string) => {
    const fallback = () => {
      poll.current ??= setInterval(async () => {
        const result = await readPairing(pairingId);
        if (result.ok) show(key, result.value);
      }, 2000);
    };
    try {
      const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/pairings/${pairingId}/ws`);
      socket.current = ws;
      ws.onmessage = (event) => {
        try {
          const message = JSON.parse(String(event.data)) as PairingSnapshot;
          if (message.type === 'snapshot') show(key, message);
        } catch {
          // not a snapshot: ignored
        }
      };
      ws.onclose = fallback;
      ws.onerror = fallback;
    } catch {
      fallback();
    }
  };

  const begin = async (key: StoredKey | null) => {
    setView({ step: 'loading' });
    const result = key ? await startPairing(key) : await startPairingFromSession();
    if (!key && !result.ok && (result.problem.code === 'unauthorized' || result.problem.code === 'reauthentication-required')) {
      return setView({ step: 'no-key' });
    }
    if (!result.ok) return setView({ step: 'error', problem: result.problem, key });
    show(key, result.value);
    follow(key, result.value.id);
  };

  useEffect(() => {
    void listKeys().then(
      (all) => {
        const keys = all.filter((k) => k.origin === location.origin);
        if (keys.length === 0) void begin(null);
        else if (keys.length === 1) void begin(keys[0]!);
        else setView({ step: 'choose', keys });
      },
      () => setView({ step: 'no-key' }),
    );
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => {
      clearInterval(timer);
      if (poll.current) clearInterval(poll.current);
      socket.current?.close();
    };
  }, []);

  const state = view.step === 'live' ? view.snapshot.state : view.step;
  useEffect(() => {
    if (view.step === 'live' && view.snapshot.state === 'claimed') announce(t('pairClaimed', { name: view.snapshot.device!.name }));
    if (view.step === 'live' && view.snapshot.state === 'completed') announce(t('pairCompleted', { name: view.snapshot.device!.name }));
    if (view.step === 'live' && (view.snapshot.state === 'completed' || view.snapshot.state === 'expired' || view.snapshot.state === 'cancelled')) {
      socket.current?.close();
      if (poll.current) clearInterval(poll.current);
    }
  }, [state]);

  const confirm = async () => {
    if (view.step !== 'live' || !view.snapshot.nonce) return;
    setView({ ...view, busy: true });
    const result = view.key ? await confirmPairing(view.key, view.snapshot.id, view.snapshot.nonce) : await confirmPairingFromSession(view.snapshot.id);
    if (result.ok) show(view.key, result.value);
    else setView({ step: 'error', problem: result.problem, key: view.key });
  };
  const refuse = async () => {
    if (view.step !== 'live') return;
    setView({ ...view, busy: true });
    const result = await cancelPairing(view.snapshot.id);
    if (result.ok) show(view.key, result.value);
    else setView({ step: 'error', problem: result.problem, key: view.key });
  };

  return (
    <main class="screen" data-screen="pair-start" data-state={state}>
      <h1 ref={heading} tabIndex={-1}>
        {view.step === 'live' && view.snapshot.state === 'completed'
          ? t('pairCompleted', { name: view.snapshot.device!.name })
          : view.step === 'live' && view.snapshot.state === 'expired'
            ? t('pairExpired')
            : view.step === 'live' && view.snapshot.state === 'cancelled'
              ? t('pairCancelled')
              : t('pairStartTitle')}
      </h1>
      {view.step === 'loading' && <p aria-busy="true">{t('loading')}</p>}
      {view.step === 'no-key' && <p class="notice">{t('pairNoKey')}</p>}
      {view.step === 'error' && (
        <>
          <p class="notice error" role="alert" data-error={view.problem.code}>
            {t(problemMessage(view.problem))}
          </p>
          {view.key !== undefined && (
            <div class="actions">
              <button type="button" class="primary" data-action="pair-again" onClick={() => void begin(view.key ?? null)}>
                {t('pairAgain')}
              </button>
            </div>
          )}
        </>
      )}
      {view.step === 'choose' && (
        <div class="actions">
          {view.keys.map((key) => (
            <button key={key.deviceId} type="button" class="secondary" data-action="pair-with" onClick={() => void begin(key)}>
              {t('pairWithKey', { name: key.name })}
            </button>
          ))}
        </div>
      )}
      {view.step === 'live' && view.snapshot.state === 'pending' && view.snapshot.pairingUrl && (
        <>
          <p>{t('pairStartIntro')}</p>
          <div class="pair-qr">
            <Qr text={view.snapshot.pairingUrl} label={t('pairQrLabel')} />
          </div>
          <p class="countdown" data-countdown="">
            {t('timeLeft', { time: formatCountdown(secondsLeft(view.deadline, Date.now())) })}
          </p>
          <p aria-live="polite">{t('pairWaiting')}</p>
          <div class="actions">
            <a
              class="button secondary"
              href={view.snapshot.pairingUrl}
              target="_blank"
              rel="noopener"
              data-action="pair-here"
              data-pairing-url={view.snapshot.pairingUrl}
            >
              {t('pairOpenHere')}
            </a>
            <button type="button" class="secondary" data-action="pair-cancel" onClick={() => void refuse()}>
              {t('pairCancel')}
            </button>
          </div>
        </>
      )}
      {view.step === 'live' && view.snapshot.state === 'claimed' && view.snapshot.device && (
        <>
          <p data-claimed="">{t('pairClaimed', { name: view.snapshot.device.name })}</p>
          <Requester requester={view.snapshot.device.requester} />
          <p class="countdown">{t('timeLeft', { time: formatCountdown(secondsLeft(view.deadline, Date.now())) })}</p>
          <div class="actions">
            <button type="button" class="primary" data-action="pair-confirm" disabled={view.busy} onClick={() => void confirm()}>
              {view.busy ? t('sending') : t('pairConfirm', { name: view.snapshot.device.name })}
            </button>
            <button type="button" class="danger" data-action="pair-refuse" disabled={view.busy} onClick={() => void refuse()}>
              {t('pairRefuse')}
            </button>
          </div>
        </>
      )}
      {view.step === 'live' && (view.snapshot.state === 'expired' || view.snapshot.state === 'cancelled') && (
        <div class="actions">
          <button type="button" class="primary" data-action="pair-again" onClick={() => void begin(view.key)}>
            {t('pairAgain')}
          </button>
        </div>
      )}
    </main>
  );
}

/** The new device's browser and place, as parsed by the server and checked again here. */
function Requester({ requester }: { requester: unknown }) {
  const { t } = useApp();
  const r = safeRequester(requester);
  const device = [r.browser, r.os].filter(Boolean).join(', ');
  const place = [r.city, r.country].filter(Boolean).join(', ');
  return (
    <dl class="requester">
      <div>
        <dt>{t('requesterDevice')}</dt>
        <dd data-field="device">{device || t('unknown')}</dd>
      </div>
      <div>
        <dt>{t('requesterPlace')}</dt>
        <dd data-field="place">{place || t('unknown')}</dd>
      </div>
    </dl>
  );
}
