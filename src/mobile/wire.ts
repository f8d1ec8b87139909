/**
 * The phone-facing API's response bodies (docs/mobile-protocol.md), shared by the Worker that
 * writes them, the reference CLI and the web app that read them. JSON in snake_case; times are
 * epoch milliseconds.
 */

/** `POST /api/mobile/enrol` → 201. */
export interface EnrolResponse {
  device_id: string;
  sub: string;
}

/** `POST /api/mobile/enrol/preview` → 200: whose identity the code enrols to ("Jana N."). */
export interface EnrolPreviewResponse {
  identity_name: string;
  /** Epoch milliseconds: the code's expiry. */
  expires_at: number;
}

/** Where and what the requesting browser is (Cloudflare request data and its User-Agent). */
export interface RequesterWire {
  country?: string;
  city?: string;
  browser?: string;
  os?: string;
}

/** `POST /api/mobile/logins/:id/scan` → 200: the context the phone must show the person. */
export interface ScanResponse {
  login_id: string;
  state: string;
  client: { id: string; name: string };
  /** OIDC claim names an approval releases. */
  claims: string[];
  requester: RequesterWire;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch milliseconds. */
  expires_at: number;
  /** The server's clock, epoch milliseconds (count down from `expires_at - now`). */
  now: number;
  /** The server nonce the answer's signature must include. */
  nonce: string;
  /** The country (ISO 3166-1 alpha-2) this scan request came from, when known. */
  phone_country?: string;
  /**
   * True when the browser's and the phone's countries are both known and differ: show the
   * warning and make denial the default action (docs/mobile-protocol.md §2).
   */
  country_mismatch: boolean;
  /**
   * Number matching: three two-digit numbers; the person picks the one the login page shows
   * and the answer sends it as `number`. Absent when the service does not require it.
   */
  number_choices?: number[];
}

/** `POST /api/mobile/logins/:id/answer` → 200. */
export interface AnswerResponse {
  status: 'approved' | 'denied';
  /** Why an approval became a denial: the number picked was not the page's. */
  reason?: 'wrong-number';
  client_id: string;
  client_name: string;
  sub: string;
}

/** `POST /api/mobile/devices/:id/revoke` → 200 (also for a device revoked before: the first time). */
export interface RevokeResponse {
  device_id: string;
  /** Epoch milliseconds of the (first) revocation. */
  revoked_at: number;
}
