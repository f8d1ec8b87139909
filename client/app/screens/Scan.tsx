import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp, useHeadingFocus } from '../context.ts';
import type { MessageKey } from '../lib/i18n.ts';
import { loginFromText } from '../lib/route.ts';
import { startCameraScan, type CameraScan } from '../lib/scanner.ts';

type CameraState = 'off' | 'starting' | 'on' | 'denied' | 'unavailable';

/** Opening a login: scan the QR with the camera, or paste the login link. */
export function Scan({ invalidLink }: { invalidLink: boolean }) {
  const { t, navigate, announce } = useApp();
  const heading = useHeadingFocus<HTMLHeadingElement>('scan');
  const video = useRef<HTMLVideoElement>(null);
  const scan = useRef<CameraScan | null>(null);
  const [camera, setCamera] = useState<CameraState>('off');
  const [link, setLink] = useState('');
  const [message, setMessage] = useState<MessageKey | null>(invalidLink ? 'invalidLink' : null);

  const open = (text: string): boolean => {
    const login = loginFromText(text, location.origin);
    if (!login.ok) {
      setMessage(login.reason === 'other-origin' ? 'otherOrigin' : 'notALogin');
      return false;
    }
    scan.current?.stop();
    navigate({ screen: 'login', loginId: login.loginId, frame: login.frame, origin: login.origin });
    return true;
  };

  const start = async () => {
    if (!video.current || scan.current) return;
    setCamera('starting');
    try {
      let last = '';
      scan.current = await startCameraScan(video.current, (text) => {
        if (text === last) return; // the same wrong code, frame after frame: say it once
        last = text;
        open(text);
      });
      setCamera('on');
    } catch (error) {
      scan.current = null;
      const denied = error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
      setCamera(denied ? 'denied' : 'unavailable');
      announce(t(denied ? 'cameraDenied' : 'cameraUnavailable'));
    }
  };
  const stop = () => {
    scan.current?.stop();
    scan.current = null;
    setCamera('off');
  };

  useEffect(() => {
    void start();
    return () => scan.current?.stop();
  }, []);

  useEffect(() => {
    if (message) announce(t(message));
  }, [message]);

  return (
    <main class="screen" data-screen="scan" data-camera={camera}>
      <h1 ref={heading} tabIndex={-1}>
        {t('scanTitle')}
      </h1>
      <p>{t('scanIntro')}</p>
      <div class="viewfinder" data-state={camera}>
        <video ref={video} muted playsInline aria-label={t('cameraLabel')} />
        <span class="frame" aria-hidden="true" />
      </div>
      {(camera === 'denied' || camera === 'unavailable') && (
        <p class="notice" data-error={`camera-${camera}`}>
          {t(camera === 'denied' ? 'cameraDenied' : 'cameraUnavailable')}
        </p>
      )}
      <div class="actions">
        {camera === 'on' || camera === 'starting' ? (
          <button type="button" class="secondary" data-action="camera-stop" onClick={stop}>
            {t('cameraStop')}
          </button>
        ) : (
          <button type="button" class="secondary" data-action="camera-start" onClick={() => void start()}>
            {t('cameraStart')}
          </button>
        )}
      </div>
      {message && (
        <p class="notice error" role="alert" data-error={message}>
          {t(message)}
        </p>
      )}
      <form
        class="paste"
        onSubmit={(event) => {
          event.preventDefault();
          open(link);
        }}
      >
        <div class="field">
          <label for="login-link">{t('pasteLabel')}</label>
          <input
            id="login-link"
            name="login_link"
            type="url"
            inputMode="url"
            autoComplete="off"
            spellcheck={false}
            value={link}
            onInput={(event) => setLink((event.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="secondary" data-action="open-link">
          {t('pasteSubmit')}
        </button>
      </form>
    </main>
  );
}
