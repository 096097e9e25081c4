/**
 * The SPA's call to the host's own API (`GET /api/profile`, behind `requireAccessToken` with the
 * `profile` scope): the access token goes in the Authorization header (RFC 6750 §2.1), never in
 * the URL. Resolves to what to show: the answer, or the API's error.
 */
export async function callProfileApi(apiEndpoint, accessToken) {
  let response;
  try {
    response = await fetch(apiEndpoint, {
      headers: { Accept: 'application/json', Authorization: `Bearer ${accessToken}` },
    });
  } catch (error) {
    return { ok: false, status: 0, error: 'api_unreachable', description: error?.message ?? String(error) };
  }
  const body = await response.json().catch(() => null);
  if (response.ok) return { ok: true, body };
  return {
    ok: false,
    status: response.status,
    error: typeof body?.error === 'string' ? body.error : `http_${response.status}`,
    description: body?.error_description,
  };
}

/** Show the API's answer in #api-profile (its section appears), or its error in #api-error. */
export async function showProfileFromApi(apiEndpoint, accessToken) {
  const pre = document.getElementById('api-profile');
  const error = document.getElementById('api-error');
  const section = pre.closest('section');
  pre.textContent = '';
  error.hidden = true;
  section.hidden = false;
  const answer = await callProfileApi(apiEndpoint, accessToken);
  if (answer.ok) {
    pre.textContent = JSON.stringify(answer.body, null, 2);
    return;
  }
  error.dataset.error = answer.error;
  error.textContent = `HTTP ${answer.status} ${answer.error}${answer.description ? `: ${answer.description}` : ''}`;
  error.hidden = false;
}

/** Hide the API's answer (signed out). */
export function hideProfileFromApi() {
  const pre = document.getElementById('api-profile');
  pre.textContent = '';
  document.getElementById('api-error').hidden = true;
  pre.closest('section').hidden = true;
}
