/**
 * The web app's texts in Czech (the default) and English. Every key exists in both languages
 * (the type enforces it); `{name}` placeholders are filled by {@link t}.
 */

export type Locale = 'cs' | 'en';

const cs = {
  appName: 'Mobilní klíč',
  languageSwitch: 'English',
  languageSwitchLabel: 'Switch to English',
  navHome: 'Moje klíče',
  loading: 'Načítám…',

  homeTitle: 'Mobilní klíč',
  homeIntro: 'S mobilním klíčem se přihlásíte naskenováním QR kódu z přihlašovací stránky a potvrzením v tomto zařízení.',
  homeNoKeys: 'V tomto zařízení zatím nemáte žádný mobilní klíč. Nejdřív ho připojte aktivačním kódem.',
  scanAction: 'Naskenovat QR kód',
  enrolAction: 'Připojit mobilní klíč',
  keysTitle: 'Klíče v tomto zařízení',
  keyName: 'Název',
  keySub: 'Identita',
  keyServer: 'Služba',
  keyCreated: 'Připojeno',
  removeKey: 'Odebrat klíč {name}',
  removeKeyShort: 'Odebrat',
  removeYes: 'Ano, odebrat',
  removeNo: 'Ponechat',
  removeConfirm: 'Opravdu odebrat klíč „{name}“? Klíč se zruší i ve službě a přestane fungovat pro přihlašování. Pro další přihlašování budete muset připojit nový klíč.',
  removeBusy: 'Ruším klíč…',
  keyRevoked: 'Klíč „{name}“ byl zrušen a odebrán z tohoto zařízení.',
  keyRemoved: 'Klíč „{name}“ byl z tohoto zařízení odebrán.',
  revokeNotDone: 'Klíč proto nebyl ve službě zrušen a pro přihlašování dál platí. Můžete ho odebrat jen z tohoto zařízení; zrušit ho pak může operátor služby.',
  revokeUnknown: 'Služba tento klíč nezná, takže ho tam není co rušit. Můžete ho odebrat z tohoto zařízení.',
  removeLocally: 'Odebrat jen z tohoto zařízení',
  storageUnavailable: 'Tento prohlížeč neumožňuje uložit klíč (IndexedDB nebo WebCrypto není k dispozici, například v anonymním okně).',

  enrolTitle: 'Připojit mobilní klíč',
  enrolIntro: 'Zadejte aktivační kód, který jste dostali na kontaktním místě nebo v aktivačním odkazu. V tomto zařízení se vytvoří klíč, který nikdy neopustí prohlížeč.',
  activationCode: 'Zadejte aktivační kód',
  activationCodeHint: 'Velikost písmen, mezery ani pomlčky nehrají roli.',
  deviceName: 'Název zařízení',
  deviceNameHint: 'Podle názvu klíč poznáte v přehledu zařízení.',
  enrolSubmit: 'Připojit klíč',
  enrolBusy: 'Připojuji klíč…',
  enrolDone: 'Mobilní klíč je připojen',
  enrolDoneText: 'Klíč „{name}“ je uložen v tomto zařízení. Teď se s ním můžete přihlašovat.',
  codeTooShort: 'Aktivační kód je neúplný. Zkontrolujte, že jste ho opsali celý.',
  nameMissing: 'Zadejte název zařízení.',

  scanTitle: 'Naskenovat QR kód',
  scanIntro: 'Namiřte fotoaparát na QR kód na přihlašovací stránce.',
  cameraStart: 'Zapnout fotoaparát',
  cameraStop: 'Vypnout fotoaparát',
  cameraLabel: 'Náhled fotoaparátu',
  cameraDenied: 'K fotoaparátu nemáte povolený přístup. Povolte ho v nastavení prohlížeče, nebo vložte odkaz níže.',
  cameraUnavailable: 'Fotoaparát není k dispozici. Vložte odkaz z přihlašovací stránky níže.',
  pasteLabel: 'Nebo vložte odkaz z přihlašovací stránky',
  pasteSubmit: 'Otevřít přihlášení',
  notALogin: 'Tohle není odkaz na přihlášení mobilním klíčem.',
  otherOrigin: 'Tento QR kód patří jiné službě než té, ke které je klíč připojen.',
  invalidLink: 'Odkaz na přihlášení je neúplný nebo poškozený. Naskenujte QR kód znovu.',

  loginTitle: 'Přihlášení',
  loginLoading: 'Načítám přihlášení…',
  loginAsks: '{client} žádá o přihlášení',
  claimsTitle: 'Služba získá tyto údaje',
  consentTitle: 'Souhlas s předáním údajů',
  consentOnce: 'Jen pro toto přihlášení',
  consentAlways: 'Vždy pro tuto službu',
  requesterTitle: 'Odkud se přihlašujete',
  requesterPlace: 'Místo',
  requesterDevice: 'Zařízení',
  requesterStarted: 'Zahájeno',
  unknown: 'neznámé',
  timeLeft: 'Zbývá {time}',
  approve: 'Schválit',
  deny: 'Odmítnout',
  sending: 'Odesílám…',
  checkHint: 'Schvalte jen přihlášení, které jste sami právě zahájili.',
  mismatchTitle: 'Pozor: přihlášení z jiné země',
  mismatchText: 'Toto přihlášení bylo zahájeno v zemi {started}, vy jste v zemi {here}. Pokud vám tento kód někdo poslal, přihlášení odmítněte.',
  pickNumber: 'Schvalte výběrem čísla, které vidíte na přihlašovací stránce',
  pickNumberButton: 'Schválit s číslem {number}',
  wrongNumberText: 'Vybrali jste jiné číslo, než ukazuje přihlašovací stránka, a proto bylo přihlášení do služby {client} odmítnuto. Pokud jste ho zahájili vy, začněte na přihlašovací stránce znovu.',
  chooseKey: 'Kterým klíčem se chcete přihlásit?',
  useKey: 'Použít klíč {name}',
  noKeyForServer: 'V tomto zařízení nemáte mobilní klíč pro tuto službu. Nejdřív ho připojte aktivačním kódem.',

  approvedTitle: 'Přihlášení schváleno',
  approvedText: 'Vraťte se na přihlašovací stránku ({client}), přihlášení tam bude pokračovat samo.',
  approvedSameDevice: 'Přihlášení dokončíte tlačítkem „Zpět na přihlašovací stránku“.',
  backToLogin: 'Zpět na přihlašovací stránku',
  backToService: 'Zpět do služby {client}',
  backToServiceHint: 'Přihlášení bylo spuštěno v tomto zařízení: služba se dozví, že neproběhlo.',
  deniedTitle: 'Přihlášení odmítnuto',
  deniedText: 'Přihlášení do služby {client} jste odmítli. Služba nezíská žádné údaje.',
  expiredTitle: 'Platnost přihlášení vypršela',
  expiredText: 'Toto přihlášení vypršelo. Na přihlašovací stránce zvolte „Začít znovu“ a naskenujte nový QR kód.',
  errorTitle: 'Přihlášení se nepodařilo',
  endedTitle: 'Přihlášení už skončilo',
  done: 'Hotovo',
  tryAgain: 'Zkusit znovu',
  scanAnother: 'Naskenovat jiný kód',

  problemInvalidActivationCode: 'Aktivační kód neplatí. Zkontrolujte ho a zadejte znovu.',
  problemActivationCodeUsed: 'Tento aktivační kód už byl použit. Požádejte o nový.',
  problemActivationCodeExpired: 'Platnost aktivačního kódu vypršela. Požádejte o nový.',
  problemTooManyRequests: 'Příliš mnoho pokusů. Počkejte prosím chvíli a zkuste to znovu.',
  problemLoginExpired: 'Toto přihlášení vypršelo.',
  problemLoginDecided: 'O tomto přihlášení už bylo rozhodnuto.',
  problemLoginCancelled: 'Přihlášení bylo zrušeno v prohlížeči, který ho zahájil.',
  problemLoginClaimed: 'Toto přihlášení už načetlo jiné zařízení.',
  problemWrongIdentity: 'Služba žádá přihlášení jiné osoby. Tento klíč patří někomu jinému; použijte klíč té osoby.',
  problemNotFound: 'Přihlášení nebylo nalezeno. Naskenujte QR kód znovu.',
  problemUnknownDevice: 'Služba tento klíč nezná. Připojte zařízení znovu aktivačním kódem.',
  problemDeviceRevoked: 'Tento klíč byl zrušen. Připojte zařízení znovu aktivačním kódem.',
  problemInvalidSignature: 'Podpis klíče se nepodařilo ověřit. Zkuste to znovu, případně klíč připojte znovu.',
  problemInvalidInput: 'Služba žádost nepřijala, protože nebyla úplná nebo platná.',
  problemClock: 'Čas v tomto zařízení se příliš liší od času služby. Nastavte správný čas a zkuste to znovu.',
  problemQrExpired: 'Tento kód už neplatí — naskenujte znovu kód na obrazovce.',
  problemOldVersion: 'Tato verze mobilního klíče už není podporována. Aktualizujte aplikaci.',
  problemNetwork: 'Nepodařilo se spojit se službou. Zkontrolujte připojení k internetu a zkuste to znovu.',
  problemGeneric: 'Něco se nepovedlo. Zkuste to prosím znovu.',
};

export type MessageKey = keyof typeof cs;

const en: Record<MessageKey, string> = {
  appName: 'Mobile key',
  languageSwitch: 'Čeština',
  languageSwitchLabel: 'Přepnout do češtiny',
  navHome: 'My keys',
  loading: 'Loading…',

  homeTitle: 'Mobile key',
  homeIntro: 'With a mobile key you sign in by scanning the QR code on the login page and confirming on this device.',
  homeNoKeys: 'There is no mobile key on this device yet. Add one with an activation code first.',
  scanAction: 'Scan a QR code',
  enrolAction: 'Add a mobile key',
  keysTitle: 'Keys on this device',
  keyName: 'Name',
  keySub: 'Identity',
  keyServer: 'Service',
  keyCreated: 'Added',
  removeKey: 'Remove key {name}',
  removeKeyShort: 'Remove',
  removeYes: 'Yes, remove',
  removeNo: 'Keep it',
  removeConfirm: 'Remove the key “{name}”? It is revoked at the service too and stops working for logins. To sign in again you will have to add a new key.',
  removeBusy: 'Revoking the key…',
  keyRevoked: 'The key “{name}” was revoked and removed from this device.',
  keyRemoved: 'The key “{name}” was removed from this device.',
  revokeNotDone: 'So the key was not revoked at the service and still works for logins. You can remove it from this device only; an operator of the service can then still revoke it.',
  revokeUnknown: 'The service does not know this key, so there is nothing to revoke there. You can remove it from this device.',
  removeLocally: 'Remove from this device only',
  storageUnavailable: 'This browser cannot store a key (IndexedDB or WebCrypto is not available, for example in a private window).',

  enrolTitle: 'Add a mobile key',
  enrolIntro: 'Enter the activation code you received at the service point or in an activation link. A key is created on this device and never leaves the browser.',
  activationCode: 'Enter the activation code',
  activationCodeHint: 'Letter case, spaces and dashes do not matter.',
  deviceName: 'Device name',
  deviceNameHint: 'The name tells you which key this is in the list of devices.',
  enrolSubmit: 'Add the key',
  enrolBusy: 'Adding the key…',
  enrolDone: 'The mobile key is ready',
  enrolDoneText: 'The key “{name}” is stored on this device. You can sign in with it now.',
  codeTooShort: 'The activation code is incomplete. Check that you copied all of it.',
  nameMissing: 'Enter a device name.',

  scanTitle: 'Scan a QR code',
  scanIntro: 'Point the camera at the QR code on the login page.',
  cameraStart: 'Turn on the camera',
  cameraStop: 'Turn off the camera',
  cameraLabel: 'Camera preview',
  cameraDenied: 'Access to the camera is not allowed. Allow it in the browser settings, or paste the link below.',
  cameraUnavailable: 'No camera is available. Paste the link from the login page below.',
  pasteLabel: 'Or paste the link from the login page',
  pasteSubmit: 'Open the login',
  notALogin: 'This is not a mobile key login link.',
  otherOrigin: 'This QR code belongs to a different service than the one this key is enrolled with.',
  invalidLink: 'The login link is incomplete or damaged. Scan the QR code again.',

  loginTitle: 'Sign-in',
  loginLoading: 'Loading the sign-in…',
  loginAsks: '{client} asks you to sign in',
  claimsTitle: 'The service will receive',
  consentTitle: 'Consent to share these details',
  consentOnce: 'For this login only',
  consentAlways: 'Always for this service',
  requesterTitle: 'Where the sign-in comes from',
  requesterPlace: 'Place',
  requesterDevice: 'Device',
  requesterStarted: 'Started',
  unknown: 'unknown',
  timeLeft: '{time} left',
  approve: 'Approve',
  deny: 'Deny',
  sending: 'Sending…',
  checkHint: 'Only approve a sign-in that you have just started yourself.',
  mismatchTitle: 'Warning: a sign-in from another country',
  mismatchText: 'This login was started in {started}, you are in {here}. If someone sent you this code, deny.',
  pickNumber: 'Approve by picking the number shown on the login page',
  pickNumberButton: 'Approve with the number {number}',
  wrongNumberText: 'You picked a different number than the login page shows, so the sign-in to {client} was denied. If you started it, start again on the login page.',
  chooseKey: 'Which key do you want to sign in with?',
  useKey: 'Use the key {name}',
  noKeyForServer: 'There is no mobile key for this service on this device. Add one with an activation code first.',

  approvedTitle: 'Sign-in approved',
  approvedText: 'Return to the login page ({client}); the sign-in continues there by itself.',
  approvedSameDevice: 'Press “Back to the login page” to finish signing in.',
  backToLogin: 'Back to the login page',
  backToService: 'Back to {client}',
  backToServiceHint: 'This sign-in was started on this device: the service learns that it did not happen.',
  deniedTitle: 'Sign-in denied',
  deniedText: 'You denied the sign-in to {client}. The service receives no data.',
  expiredTitle: 'This sign-in expired',
  expiredText: 'This login expired. Choose “Start again” on the login page and scan the new QR code.',
  errorTitle: 'The sign-in failed',
  endedTitle: 'This sign-in has already ended',
  done: 'Done',
  tryAgain: 'Try again',
  scanAnother: 'Scan another code',

  problemInvalidActivationCode: 'The activation code is not valid. Check it and type it again.',
  problemActivationCodeUsed: 'This activation code has already been used. Ask for a new one.',
  problemActivationCodeExpired: 'This activation code has expired. Ask for a new one.',
  problemTooManyRequests: 'Too many attempts. Please wait a moment and try again.',
  problemLoginExpired: 'This login expired.',
  problemLoginDecided: 'This sign-in has already been decided.',
  problemLoginCancelled: 'The sign-in was cancelled by the browser that started it.',
  problemLoginClaimed: 'Another device has already opened this sign-in.',
  problemWrongIdentity: 'The service asks for another person to log in. This key belongs to someone else; use that person’s key.',
  problemNotFound: 'The sign-in was not found. Scan the QR code again.',
  problemUnknownDevice: 'The service does not know this key. Add this device again with an activation code.',
  problemDeviceRevoked: 'This key was revoked. Add this device again with an activation code.',
  problemInvalidSignature: 'The key’s signature could not be verified. Try again, or add the key again.',
  problemInvalidInput: 'The service did not accept the request because it was incomplete or invalid.',
  problemClock: 'The time on this device is too far from the service’s time. Set the correct time and try again.',
  problemQrExpired: 'This code is no longer valid — scan the code on the screen again.',
  problemOldVersion: 'This version of the mobile key is no longer supported. Update the app.',
  problemNetwork: 'Could not reach the service. Check your internet connection and try again.',
  problemGeneric: 'Something went wrong. Please try again.',
};

const MESSAGES: Record<Locale, Record<MessageKey, string>> = { cs, en };

/**
 * A text in a language, with `{name}` placeholders replaced from `params` (missing ones are
 * left as they are, so a forgotten parameter shows up in review rather than as an empty gap).
 */
export function t(locale: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
  return MESSAGES[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** Every message key (for tests that check both languages are complete). */
export const MESSAGE_KEYS = Object.keys(cs) as MessageKey[];

/**
 * The language to start in: a saved choice, else the first of the browser's preferred
 * languages that we have (Slovak readers get Czech), else Czech.
 * @param saved the value stored by the language switch, if any.
 * @param preferred `navigator.languages` (BCP 47 tags).
 */
export function pickLocale(saved: string | null | undefined, preferred: readonly string[]): Locale {
  if (saved === 'cs' || saved === 'en') return saved;
  for (const tag of preferred) {
    const language = tag.toLowerCase().split('-')[0];
    if (language === 'cs' || language === 'sk') return 'cs';
    if (language === 'en') return 'en';
  }
  return 'cs';
}
