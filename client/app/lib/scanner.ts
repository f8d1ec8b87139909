/**
 * Reading a QR code from the camera: the `BarcodeDetector` API where the platform has it
 * (Android, macOS, ChromeOS), else frames drawn on a canvas and decoded with jsQR (loaded on
 * demand, so the app's first load stays small).
 */

/** A running camera scan; `stop()` releases the camera. */
export interface CameraScan {
  stop(): void;
}

type Detect = (video: HTMLVideoElement) => Promise<string | null>;

interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
interface BarcodeDetectorClass {
  new (options: { formats: string[] }): BarcodeDetectorLike;
  getSupportedFormats(): Promise<string[]>;
}

async function nativeDetector(): Promise<Detect | null> {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (!Detector) return null;
  try {
    if (!(await Detector.getSupportedFormats()).includes('qr_code')) return null;
    const detector = new Detector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
  } catch {
    return null;
  }
}

async function canvasDetector(): Promise<Detect> {
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  return async (video) => {
    // Scaled down: a QR filling part of the frame decodes as well and much faster.
    const scale = Math.min(1, 720 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
  };
}

/**
 * Starts the camera into `video` and calls `onText` with every QR text read (about 4 times a
 * second) until stopped.
 * @throws {DOMException} from `getUserMedia` (`NotAllowedError` when refused, `NotFoundError`
 *   when there is no camera), or {@link Error} when the browser has no camera API.
 */
export async function startCameraScan(video: HTMLVideoElement, onText: (text: string) => void): Promise<CameraScan> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera API');
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: 'environment' } },
    audio: false,
  });
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  try {
    video.srcObject = stream;
    await video.play();
    const detect = (await nativeDetector()) ?? (await canvasDetector());
    const tick = async () => {
      if (stopped) return;
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        try {
          const text = await detect(video);
          if (text && !stopped) onText(text);
        } catch {
          // a frame that cannot be read: try the next one
        }
      }
      if (!stopped) timer = setTimeout(tick, 250);
    };
    void tick();
  } catch (error) {
    stop();
    throw error;
  }
  return { stop };
}
