import { useEffect, useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import { deleteKey, listKeys, type StoredKey } from '../lib/store.ts';

type KeysState = { status: 'loading' } | { status: 'ready'; keys: StoredKey[] } | { status: 'unavailable' };

/** Home: the keys on this device (remove one) and the next steps (scan, enrol). */
export function Home() {
  const { t, locale, navigate, announce } = useApp();
  const heading = useHeadingFocus<HTMLHeadingElement>('home');
  const [state, setState] = useState<KeysState>({ status: 'loading' });
  const [confirming, setConfirming] = useState<string | null>(null);

  const reload = () =>
    listKeys().then(
      (keys) => setState({ status: 'ready', keys }),
      () => setState({ status: 'unavailable' }),
    );
  useEffect(() => void reload(), []);

  const remove = async (key: StoredKey) => {
    await deleteKey(key.deviceId);
    setConfirming(null);
    announce(t('keyRemoved', { name: key.name }));
    await reload();
    heading.current?.focus();
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
        <button
          type="button"
          class={keys.length ? 'secondary' : 'primary'}
          data-action="enrol"
          onClick={() => navigate({ screen: 'enrol', code: '' })}
        >
          {t('enrolAction')}
        </button>
      </div>
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
                {confirming === key.deviceId ? (
                  <div class="confirm" role="group" aria-label={t('removeKey', { name: key.name })}>
                    <p>{t('removeConfirm', { name: key.name })}</p>
                    <div class="actions row">
                      <button type="button" class="danger" data-action="confirm-remove" onClick={() => void remove(key)}>
                        {t('removeYes')}
                      </button>
                      <button type="button" class="secondary" data-action="cancel-remove" onClick={() => setConfirming(null)}>
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
                    onClick={() => setConfirming(key.deviceId)}
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
