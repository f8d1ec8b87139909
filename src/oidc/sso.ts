/**
 * Whether an authorization request can be answered from the browser session (single sign-on)
 * or needs a fresh approval on the phone: `prompt`, `max_age` and the hints (OIDC Core
 * §3.1.2.1, §3.1.2.3, §3.1.2.6). A pure function: the caller loads the session and the hints.
 */

/** What the browser session can do for a request. */
export type SsoDecision =
  | { kind: 'silent' }
  /** `prompt=select_account` with a session that could answer silently: the person chooses. */
  | { kind: 'select' }
  | { kind: 'interactive'; why: FreshReason | 'no-session' }
  | { kind: 'error'; error: 'login_required'; description: string };

/** Why a valid session is not enough. */
export type FreshReason = 'prompt-login' | 'prompt-consent' | 'max-age' | 'other-identity';

export interface SsoInput {
  /** The request's `prompt` values (already validated: `none` stands alone). */
  prompt: string[];
  /** `max_age` in SECONDS. */
  maxAge?: number;
  /** The `sub` of a verified `id_token_hint`. */
  idTokenHintSub?: string;
  /** The `sub` the `login_hint` resolved to, when it named an identity we know. */
  loginHintSub?: string;
  /** The valid browser session, `authTime` epoch SECONDS. */
  session: { sub: string; authTime: number } | null;
  /** Epoch SECONDS. */
  now: number;
}

/**
 * Decides in this order: no session; `prompt` values that always ask the person (`login`,
 * `consent`: the phone shows what is released and the person approves it); `max_age` (0 means
 * always fresh, as OIDC Core §3.1.2.1 makes it equivalent to `prompt=login`); a hint naming
 * another identity than the session's. With `prompt=none` every reason for a fresh approval is
 * `login_required` instead. When nothing demands a fresh approval, `select_account` lets the
 * person choose between the session's identity and another key (`select`); `none` never meets
 * it (checkPrompt refuses `none` with any other value).
 */
export function decideSso(input: SsoInput): SsoDecision {
  const none = input.prompt.includes('none');
  const fresh = freshReason(input);
  if (fresh === null) return input.prompt.includes('select_account') ? { kind: 'select' } : { kind: 'silent' };
  if (!none) return { kind: 'interactive', why: fresh };
  const descriptions: Record<FreshReason | 'no-session', string> = {
    'no-session': 'the person is not logged in',
    'max-age': 'the login is older than max_age allows',
    'other-identity': 'the person logged in is not the one the hint names',
    'prompt-login': 'the person must log in again',
    'prompt-consent': 'the person must log in again',
  };
  return { kind: 'error', error: 'login_required', description: descriptions[fresh] };
}

function freshReason(input: SsoInput): FreshReason | 'no-session' | null {
  const { session } = input;
  if (!session) return 'no-session';
  for (const value of ['login', 'consent'] as const) {
    if (input.prompt.includes(value)) return `prompt-${value}`;
  }
  if (input.maxAge !== undefined && (input.maxAge === 0 || input.now - session.authTime > input.maxAge)) return 'max-age';
  if (input.idTokenHintSub !== undefined && input.idTokenHintSub !== session.sub) return 'other-identity';
  if (input.loginHintSub !== undefined && input.loginHintSub !== session.sub) return 'other-identity';
  return null;
}
