/**
 * Headers of every page and asset response. The policy admits only this control plane's own
 * scripts, styles and API: no inline script, no inline style, no framing, no foreign fetches,
 * so even a rendering bug cannot run injected script or send data elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Small files read once per process: revalidating each time keeps a new deploy visible at once.
  'cache-control': 'no-cache',
};
