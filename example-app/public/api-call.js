/**
 * The SPA's calls with its access token: the host's own API (`GET /api/profile`, behind
 * `requireAccessToken` with the `profile` scope) and UserInfo (OIDC Core §5.3). The token goes in
 * the Authorization header, never in the URL. A DPoP-bound token (`token_type` `DPoP`) goes as
 * `Authorization: DPoP …` with a fresh proof signed by the SPA's key (RFC 9449 §7.1); a bearer
 * token as `Authorization: Bearer …` (RFC 6750 §2.1).
 */
import { fetchWithDpop } from './dpop.js';

/**
 * GET `url` with the session's access token. Resolves to what to show: `{ ok: true, body }`, or
 * the error the server answered (its JSON `error`, else the `WWW-Authenticate` error, else the status).
 */
export async function getWithToken(url, { accessToken, tokenType, dpopKeyPair }) {
  const headers = { Accept: 'application/json' };
  let response;
  try {
    response =
      tokenType === 'DPoP'
        ? await fetchWithDpop(dpopKeyPair, url, { headers, accessToken })
        : await fetch(url, { headers: { ...headers, Authorization: `Bearer ${accessToken}` } });
  } catch (error) {
    return { ok: false, status: 0, error: 'unreachable', description: error?.message ?? String(error) };
  }
  const body = await response.json().catch(() => null);
  if (response.ok) return { ok: true, body };
  const challenge = /error="([^"]+)"/.exec(response.headers.get('WWW-Authenticate') ?? '');
  return {
    ok: false,
    status: response.status,
    error: typeof body?.error === 'string' ? body.error : (challenge?.[1] ?? `http_${response.status}`),
    description: body?.error_description,
  };
}

/** Show the answer of `url` in `<pre id=preId>` (its section appears), or its error in `#errorId`. */
export async function showAnswer(url, session, { preId, errorId }) {
  const pre = document.getElementById(preId);
  const error = document.getElementById(errorId);
  const section = pre.closest('section');
  pre.textContent = '';
  error.hidden = true;
  section.hidden = false;
  const answer = await getWithToken(url, session);
  if (answer.ok) {
    pre.textContent = JSON.stringify(answer.body, null, 2);
    return;
  }
  error.dataset.error = answer.error;
  error.textContent = `HTTP ${answer.status} ${answer.error}${answer.description ? `: ${answer.description}` : ''}`;
  error.hidden = false;
}

/** Hide an answer (signed out). */
export function hideAnswer({ preId, errorId }) {
  const pre = document.getElementById(preId);
  pre.textContent = '';
  document.getElementById(errorId).hidden = true;
  pre.closest('section').hidden = true;
}
