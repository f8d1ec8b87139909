import { useEffect, useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import { revokeOnServer } from '../lib/keys.ts';
import { problemMessage, type ApiProblem } from '../lib/problems.ts';
import { deleteKey, listKeys, type StoredKey } from '../lib/store.ts';
import { Notifications } from './Notifications.tsx';

type KeysState = { status: 'loading' } | { status: 'ready'; keys: StoredKey[] } | { status: 'unavailable' };

/**
 * Removing one key: asking, revoking it on the server, or — the server refused or could not be
 * reached — offering to remove it from this device only.
 */
type Removal =
  | { deviceId: string; step: 'ask' | 'revoking' }
  | { deviceId: string; step: 'failed'; problem: ApiProblem };

/** Home: the keys on this device (remove one) and the next steps (scan, enrol). */
export function Home() {
  const { t, locale, navigate, announce } = useApp();
  const heading = useHeadingFocus<HTMLHeadingElement>('home');
  const [state, setState] = useState<KeysState>({ status: 'loading' });
  const [removal, setRemoval] = useState<Removal | null>(null);

  const reload = () =>
    listKeys().then(
      (keys) => setState({ status: 'ready', keys }),
      () => setState({ status: 'unavailable' }),
    );
  useEffect(() => void reload(), []);

  const deleteLocally = async (key: StoredKey, message: 'keyRevoked' | 'keyRemoved') => {
    await deleteKey(key.deviceId);
    setRemoval(null);
    announce(t(message, { name: key.name }));
    await reload();
    heading.current?.focus();
  };

  // Revoke first: a key deleted only here would still approve logins if a copy of it existed
  // (or if the device was lost before). Deleting locally without revoking is the person's choice.
  const remove = async (key: StoredKey) => {
    setRemoval({ deviceId: key.deviceId, step: 'revoking' });
    const result = await revokeOnServer(key);
    if (result.ok) await deleteLocally(key, 'keyRevoked');
    else setRemoval({ deviceId: key.deviceId, step: 'failed', problem: result.problem });
  };

  const dateFormat = new Intl.DateTimeFormat(locale === 'cs' ? 'cs-CZ' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  const keys = state.status === 'ready' ? state.keys : [];

  return (
    <main class="screen" data-screen="home" data-state={state.status === 'ready' ? (keys.length ? 'keys' : 'empty') : state.status}>
      <h1 ref={heading} tabIndex={-1}>
        {t('homeTitle')}
      </h1>
      <p>{t('homeIntro')}</p>
      {state.status === 'unavailable' && (
        <p class="notice error" role="alert">
          {t('storageUnavailable')}
        </p>
      )}
      {state.status === 'ready' && keys.length === 0 && <p class="notice">{t('homeNoKeys')}</p>}
      <div class="actions">
        {keys.length > 0 && (
          <button type="button" class="primary" data-action="scan" onClick={() => navigate({ screen: 'scan', invalidLink: false })}>
            {t('scanAction')}
          </button>
        )}
        {keys.length > 0 && (
          <button type="button" class="secondary" data-action="pair" onClick={() => navigate({ screen: 'pair-start' })}>
            {t('pairAction')}
          </button>
        )}
        <button
          type="button"
          class={keys.length ? 'secondary' : 'primary'}
          data-action="enrol"
          onClick={() => navigate({ screen: 'enrol', code: '' })}
        >
          {t('enrolAction')}
        </button>
      </div>
      {keys.length > 0 && <Notifications keys={keys} />}
      {keys.length > 0 && (
        <section aria-labelledby="keys-heading">
          <h2 id="keys-heading">{t('keysTitle')}</h2>
          <ul class="keys" aria-labelledby="keys-heading">
            {keys.map((key) => (
              <li key={key.deviceId} class="key" data-key="" data-device-id={key.deviceId}>
                <h3 class="key-name">{key.name}</h3>
                <dl>
                  <div>
                    <dt>{t('keySub')}</dt>
                    <dd data-field="sub">{key.sub}</dd>
                  </div>
                  <div>
                    <dt>{t('keyServer')}</dt>
                    <dd data-field="origin">{key.origin.replace(/^https?:\/\//, '')}</dd>
                  </div>
                  <div>
                    <dt>{t('keyCreated')}</dt>
                    <dd data-field="created">
                      <time dateTime={new Date(key.createdAt).toISOString()}>{dateFormat.format(key.createdAt)}</time>
                    </dd>
                  </div>
                </dl>
                {removal?.deviceId === key.deviceId ? (
                  <div
                    class="confirm"
                    role="group"
                    aria-label={t('removeKey', { name: key.name })}
                    data-remove={removal.step}
                    aria-busy={removal.step === 'revoking'}
                  >
                    {removal.step === 'failed' ? (
                      <p class="notice error" role="alert" data-error={removal.problem.code}>
                        {removal.problem.code === 'unknown-device'
                          ? t('revokeUnknown')
                          : `${t(problemMessage(removal.problem))} ${t('revokeNotDone')}`}
                      </p>
                    ) : (
                      <p>{t('removeConfirm', { name: key.name })}</p>
                    )}
                    <div class={removal.step === 'failed' ? 'actions' : 'actions row'}>
                      {removal.step === 'failed' && removal.problem.code !== 'unknown-device' ? (
                        <button type="button" class="secondary" data-action="confirm-remove" onClick={() => void remove(key)}>
                          {t('tryAgain')}
                        </button>
                      ) : null}
                      {removal.step === 'failed' ? (
                        <button type="button" class="danger" data-action="remove-locally" onClick={() => void deleteLocally(key, 'keyRemoved')}>
                          {t('removeLocally')}
                        </button>
                      ) : null}
                      {removal.step !== 'failed' ? (
                        <button
                          type="button"
                          class="danger"
                          data-action="confirm-remove"
                          disabled={removal.step === 'revoking'}
                          onClick={() => void remove(key)}
                        >
                          {removal.step === 'revoking' ? t('removeBusy') : t('removeYes')}
                        </button>
                      ) : null}
                      <button
                        type="button"
                        class="secondary"
                        data-action="cancel-remove"
                        disabled={removal.step === 'revoking'}
                        onClick={() => setRemoval(null)}
                      >
                        {t('removeNo')}
                      </button>
                    </div>
                  </div>
                ) : (
                  <button
                    type="button"
                    class="secondary small"
                    aria-label={t('removeKey', { name: key.name })}
                    data-action="remove-key"
                    onClick={() => setRemoval({ deviceId: key.deviceId, step: 'ask' })}
                  >
                    {t('removeKeyShort')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
