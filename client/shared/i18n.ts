/**
 * Every user-facing string of the hosted pages (login page, enrolment help, error pages), in
 * Czech (the default) and English. Server-side only: the login page's script gets the few
 * sentences it needs in the page's language from the page itself (client/login/model.ts
 * `PageText`, src/login/pages.tsx).
 */

export type Locale = 'cs' | 'en';

export const LOCALES: readonly Locale[] = ['cs', 'en'];
export const DEFAULT_LOCALE: Locale = 'cs';

/** True for a locale the pages are translated into. */
export function isLocale(value: unknown): value is Locale {
  return value === 'cs' || value === 'en';
}

/**
 * The first supported language of an `Accept-Language` header (RFC 9110 §12.5.4), by quality;
 * `undefined` when none is supported or the header is absent.
 */
export function localeFromAcceptLanguage(header: string | null | undefined): Locale | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    const primary = tag.split('-')[0];
    if (isLocale(primary)) return primary;
  }
  return undefined;
}

/**
 * The page language: an explicit `?lang=` wins, then the `lang` cookie (set by the switch on
 * the page), then the login's own locale (from `ui_locales`/`Accept-Language` at the start),
 * then `Accept-Language` (pages without a login), then Czech.
 */
export function chooseLocale(input: {
  query?: string | undefined;
  cookie?: string | undefined;
  login?: string | undefined;
  acceptLanguage?: string | null | undefined;
}): Locale {
  for (const candidate of [input.query, input.cookie, input.login]) {
    if (isLocale(candidate)) return candidate;
  }
  return localeFromAcceptLanguage(input.acceptLanguage) ?? DEFAULT_LOCALE;
}

/** The strings of one language. Functions take the values they interpolate. */
export interface Messages {
  /** The language's own name, shown on the switch that selects it. */
  languageName: string;
  languageSwitchLabel: string;
  brand: string;
  title: string;
  signingInTo: string;
  steps: {
    listLabel: string;
    openApp: string;
    scan: string;
    confirm: string;
    phoneLaunch: string;
    phoneConfirm: string;
  };
  launch: string;
  launchHint: string;
  qrLabel: (service: string) => string;
  qrCaption: string;
  qrOtherPhone: string;
  expiresIn: string;
  expired: string;
  status: {
    pending: string;
    scanned: string;
    approved: (service: string) => string;
    denied: string;
    expired: string;
    cancelled: string;
    lowTime: string;
  };
  headings: {
    scanned: string;
    approved: string;
    denied: string;
    expired: string;
    cancelled: string;
  };
  scannedBody: string;
  /** Number matching: the label above the number the phone must pick. */
  matchNumberLabel: string;
  /** Number matching: what the live region says with the number (a placeholder such as `{n}` for the page script to fill). */
  matchNumberStatus: (number: number | string) => string;
  approvedBody: (service: string) => string;
  deniedBody: string;
  expiredBody: string;
  cancelledBody: string;
  continue: string;
  startAgain: string;
  /** While pending or scanned: ends the login and goes back to the service. */
  cancelAndReturn: (service: string) => string;
  /** After a denial, a cancellation or an expiry: back to the service (it learns why). */
  backTo: (service: string) => string;
  connection: {
    lost: string;
    reconnecting: string;
  };
  noMobileKey: string;
  createMobileKey: string;
  footer: string;
  errors: {
    forbiddenTitle: string;
    forbiddenBody: string;
    notFoundTitle: string;
    notFoundBody: string;
    approvedTitle: string;
    approvedBody: string;
    crossSiteTitle: string;
    crossSiteBody: string;
    backHint: string;
    toLogin: string;
  };
  help: {
    title: string;
    intro: string;
    waysHeading: string;
    activationTitle: string;
    activationSteps: string[];
    pairingTitle: string;
    pairingSteps: string[];
    safetyHeading: string;
    safety: string[];
    openApp: string;
    backToLogin: string;
  };
}

const cs: Messages = {
  languageName: 'Čeština',
  languageSwitchLabel: 'Jazyk',
  brand: 'Mobilní klíč',
  title: 'Přihlášení mobilním klíčem',
  signingInTo: 'Přihlašujete se do služby',
  steps: {
    listLabel: 'Postup přihlášení',
    openApp: 'Spusťte aplikaci Mobilní klíč v telefonu.',
    scan: 'Naskenujte QR kód.',
    confirm: 'Potvrďte přihlášení v telefonu.',
    phoneLaunch: 'Klepněte na tlačítko Spustit mobilní klíč na tomto zařízení.',
    phoneConfirm: 'Potvrďte přihlášení v aplikaci Mobilní klíč.',
  },
  launch: 'Spustit mobilní klíč na tomto zařízení',
  launchHint: 'Máte mobilní klíč v tomto zařízení?',
  qrLabel: (service) => `QR kód pro přihlášení do služby ${service} mobilním klíčem`,
  qrCaption: 'Naskenujte kód aplikací Mobilní klíč.',
  qrOtherPhone: 'Nebo naskenujte QR kód mobilním klíčem v jiném telefonu.',
  expiresIn: 'Platnost vyprší za',
  expired: 'Platnost vypršela',
  status: {
    pending: 'Čekáme na naskenování QR kódu.',
    scanned: 'QR kód naskenován mobilním klíčem. Potvrďte přihlášení v telefonu.',
    approved: (service) => `Přihlášení potvrzeno. Pokračujeme do služby ${service}.`,
    denied: 'Přihlášení bylo v telefonu zamítnuto.',
    expired: 'Platnost přihlášení vypršela.',
    cancelled: 'Přihlášení bylo zrušeno.',
    lowTime: 'Platnost vyprší za méně než 30 sekund.',
  },
  headings: {
    scanned: 'Potvrďte přihlášení v telefonu',
    approved: 'Přihlášení potvrzeno',
    denied: 'Přihlášení zamítnuto',
    expired: 'Platnost vypršela',
    cancelled: 'Přihlášení zrušeno',
  },
  scannedBody: 'Kód byl naskenován mobilním klíčem. Zkontrolujte údaje v telefonu a přihlášení potvrďte.',
  matchNumberLabel: 'V telefonu vyberte toto číslo',
  matchNumberStatus: (number) => `V telefonu vyberte číslo ${number}.`,
  approvedBody: (service) => `Za okamžik vás přesměrujeme zpět do služby ${service}.`,
  deniedBody: 'Přihlášení jste v telefonu odmítli. Pokud to byl omyl, začněte znovu.',
  expiredBody: 'QR kód už neplatí. Začněte znovu a naskenujte nový kód.',
  cancelledBody: 'Toto přihlášení bylo zrušeno. Můžete začít znovu.',
  continue: 'Pokračovat',
  startAgain: 'Začít znovu',
  cancelAndReturn: (service) => `Zrušit a vrátit se do služby ${service}`,
  backTo: (service) => `Zpět do služby ${service}`,
  connection: {
    lost: 'Spojení se serverem bylo přerušeno. Obnovujeme je…',
    reconnecting: 'Obnovujeme spojení…',
  },
  noMobileKey: 'Ještě nemáte mobilní klíč?',
  createMobileKey: 'Vytvořit mobilní klíč',
  footer: 'Bezpečné přihlášení bez hesla. Nikdy nezadávejte kód z telefonu na jiné stránce.',
  errors: {
    forbiddenTitle: 'Přihlášení probíhá v jiném prohlížeči',
    forbiddenBody:
      'Toto přihlášení lze sledovat jen v prohlížeči, ve kterém začalo. Vraťte se do služby, do které se přihlašujete, a začněte znovu.',
    notFoundTitle: 'Přihlášení nenalezeno',
    notFoundBody: 'Toto přihlášení neexistuje nebo už bylo odstraněno. Vraťte se do služby a začněte znovu.',
    approvedTitle: 'Přihlášení už bylo potvrzeno',
    approvedBody: 'Toto přihlášení jste už potvrdili, nelze jej začít znovu.',
    crossSiteTitle: 'Požadavek odmítnut',
    crossSiteBody: 'Požadavek nepřišel z této stránky. Vraťte se na stránku přihlášení a zkuste to znovu.',
    backHint: 'Zavřete tuto stránku nebo se vraťte do služby, do které se přihlašujete.',
    toLogin: 'Zpět na přihlášení',
  },
  help: {
    title: 'Jak vytvořit mobilní klíč',
    intro:
      'Mobilní klíč je váš telefon, připojený k vaší identitě. Přihlašujete se jím naskenováním QR kódu a potvrzením v telefonu, bez hesla. Klíč v telefonu nikdy neopouští zařízení.',
    waysHeading: 'Dva způsoby, jak mobilní klíč připojit',
    activationTitle: 'Aktivačním kódem od operátora',
    activationSteps: [
      'Požádejte operátora (například na přepážce) o aktivační kód. Operátor ověří vaši totožnost.',
      'Otevřete v telefonu aktivační odkaz, který jste dostali, nebo zadejte aktivační kód v aplikaci Mobilní klíč.',
      'Pojmenujte zařízení (například „Můj telefon“) a připojení potvrďte. Aktivační kód platí jen jednou a omezenou dobu.',
    ],
    pairingTitle: 'Spárováním z existujícího přihlášení',
    pairingSteps: [
      'Přihlaste se zařízením, které už mobilní klíč má.',
      'V aplikaci Mobilní klíč zvolte připojení dalšího zařízení.',
      'Nové zařízení naskenuje zobrazený kód a připojí se k vaší identitě.',
    ],
    safetyHeading: 'Bezpečnost',
    safety: [
      'Aktivační kód nikomu nesdělujte. Nikdo od nás vás o něj nebude žádat telefonem ani e-mailem.',
      'Přihlášení potvrzujte jen tehdy, když jste je sami začali a v telefonu vidíte správnou službu.',
    ],
    openApp: 'Otevřít aplikaci Mobilní klíč',
    backToLogin: 'Zpět na přihlášení',
  },
};

const en: Messages = {
  languageName: 'English',
  languageSwitchLabel: 'Language',
  brand: 'Mobile Key',
  title: 'Log in with the mobile key',
  signingInTo: 'You are logging in to',
  steps: {
    listLabel: 'How to log in',
    openApp: 'Open the Mobile Key app on your phone.',
    scan: 'Scan the QR code.',
    confirm: 'Confirm the login on your phone.',
    phoneLaunch: 'Tap the button Launch the mobile key on this device.',
    phoneConfirm: 'Confirm the login in the Mobile Key app.',
  },
  launch: 'Launch the mobile key on this device',
  launchHint: 'Is your mobile key on this device?',
  qrLabel: (service) => `QR code to log in to ${service} with the mobile key`,
  qrCaption: 'Scan the code with the Mobile Key app.',
  qrOtherPhone: 'Or scan the QR code with the mobile key on another phone.',
  expiresIn: 'Expires in',
  expired: 'Expired',
  status: {
    pending: 'Waiting for the QR code to be scanned.',
    scanned: 'QR code scanned by a mobile key. Confirm the login on your phone.',
    approved: (service) => `Login confirmed. Continuing to ${service}.`,
    denied: 'The login was denied on the phone.',
    expired: 'The login has expired.',
    cancelled: 'The login was cancelled.',
    lowTime: 'The login expires in less than 30 seconds.',
  },
  headings: {
    scanned: 'Confirm the login on your phone',
    approved: 'Login confirmed',
    denied: 'Login denied',
    expired: 'The login has expired',
    cancelled: 'Login cancelled',
  },
  scannedBody: 'A mobile key scanned the code. Check the details on your phone and confirm the login.',
  matchNumberLabel: 'On your phone, pick this number',
  matchNumberStatus: (number) => `On your phone, pick the number ${number}.`,
  approvedBody: (service) => `Taking you back to ${service} in a moment.`,
  deniedBody: 'You denied the login on your phone. If that was a mistake, start again.',
  expiredBody: 'The QR code is no longer valid. Start again and scan a new code.',
  cancelledBody: 'This login was cancelled. You can start again.',
  continue: 'Continue',
  startAgain: 'Start again',
  cancelAndReturn: (service) => `Cancel and return to ${service}`,
  backTo: (service) => `Back to ${service}`,
  connection: {
    lost: 'The connection to the server was lost. Reconnecting…',
    reconnecting: 'Reconnecting…',
  },
  noMobileKey: 'No mobile key yet?',
  createMobileKey: 'Create a mobile key',
  footer: 'Secure login without a password. Never enter a code from your phone on another site.',
  errors: {
    forbiddenTitle: 'This login is in another browser',
    forbiddenBody:
      'This login can only be followed in the browser where it started. Go back to the service you are logging in to and start again.',
    notFoundTitle: 'Login not found',
    notFoundBody: 'This login does not exist or has been removed. Go back to the service and start again.',
    approvedTitle: 'This login is already confirmed',
    approvedBody: 'You have already confirmed this login; it cannot be started again.',
    crossSiteTitle: 'Request refused',
    crossSiteBody: 'The request did not come from this page. Go back to the login page and try again.',
    backHint: 'Close this page or go back to the service you are logging in to.',
    toLogin: 'Back to the login',
  },
  help: {
    title: 'How to create a mobile key',
    intro:
      'A mobile key is your phone, enrolled to your identity. You log in with it by scanning a QR code and confirming on the phone, without a password. The key never leaves the device.',
    waysHeading: 'Two ways to enrol a mobile key',
    activationTitle: 'With an activation code from an operator',
    activationSteps: [
      'Ask an operator (for example at a service counter) for an activation code. The operator verifies who you are.',
      'On your phone, open the activation link you received, or enter the activation code in the Mobile Key app.',
      'Name the device (for example “My phone”) and confirm. An activation code works once and for a limited time.',
    ],
    pairingTitle: 'By pairing from an existing login',
    pairingSteps: [
      'Log in with a device that already has a mobile key.',
      'In the Mobile Key app, choose to add another device.',
      'The new device scans the code shown and is enrolled to your identity.',
    ],
    safetyHeading: 'Safety',
    safety: [
      'Never share an activation code. Nobody from us will ask you for it by phone or e-mail.',
      'Confirm a login only when you started it yourself and your phone shows the right service.',
    ],
    openApp: 'Open the Mobile Key app',
    backToLogin: 'Back to the login',
  },
};

const MESSAGES: Record<Locale, Messages> = { cs, en };

/** The strings for a locale (Czech for anything unsupported). */
export function messages(locale: string): Messages {
  return isLocale(locale) ? MESSAGES[locale] : MESSAGES[DEFAULT_LOCALE];
}
