/**
 * What a browser sends with a top-level navigation to a page: Fetch Metadata (W3C Fetch
 * Metadata Request Headers, `Sec-Fetch-Dest: document`) and the Accept of a document. `GET
 * /authorize` answers such a request with the login page itself, anyone else with a 303 to it.
 * Shared by the worker tests, the e2e flow and the bench.
 */
export const NAVIGATION_HEADERS = {
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Sec-Fetch-Dest': 'document',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Site': 'cross-site',
} as const;
