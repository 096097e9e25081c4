// A machine client of the example host: `node example-app/machine-client.js` (with the example
// app running, `npm start`). It gets an access token for itself with the client credentials
// grant (RFC 6749 §4.4), authenticating with client_secret_basic, and calls the host's
// GET /api/status with it.
//   ISSUER                          default http://localhost:3000
//   EXAMPLE_MACHINE_CLIENT_SECRET   default the development secret of clients.js
import { DEV_MACHINE_CLIENT_SECRET, MACHINE_CLIENT_ID, STATUS_SCOPE } from './clients.js';

/**
 * The client credentials token, then the API call. Every URL comes from the issuer's discovery
 * document; nothing printed holds the secret or the token.
 *
 * @param {{ issuer: string, clientSecret: string, fetch?: typeof fetch }} options
 * @returns {Promise<{ token: { scope: string, expires_in: number, token_type: string }, status: unknown }>}
 */
export async function callStatusApi({ issuer, clientSecret, fetch: send = fetch }) {
  const base = issuer.replace(/\/+$/, '');
  const discovery = await (await send(`${base}/.well-known/openid-configuration`)).json();
  // RFC 6749 §2.3.1: the client_id and secret, each form-urlencoded, in the Basic header.
  const encode = (value) => encodeURIComponent(value).replace(/%20/g, '+');
  const basic = Buffer.from(`${encode(MACHINE_CLIENT_ID)}:${encode(clientSecret)}`).toString('base64');
  const tokenResponse = await send(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: STATUS_SCOPE }),
  });
  const token = await tokenResponse.json();
  if (!tokenResponse.ok) throw new Error(`the token endpoint refused: ${tokenResponse.status} ${token.error}`);
  const api = await send(`${base}/api/status`, { headers: { authorization: `Bearer ${token.access_token}` } });
  const status = await api.json();
  if (!api.ok) throw new Error(`GET /api/status answered ${api.status} ${status.error ?? ''}`);
  return { token: { scope: token.scope, expires_in: token.expires_in, token_type: token.token_type }, status };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const issuer = process.env.ISSUER ?? 'http://localhost:3000';
  const clientSecret = process.env.EXAMPLE_MACHINE_CLIENT_SECRET ?? DEV_MACHINE_CLIENT_SECRET;
  try {
    const { token, status } = await callStatusApi({ issuer, clientSecret });
    console.log(`token: ${token.token_type}, scope "${token.scope}", expires in ${token.expires_in} s`);
    console.log('GET /api/status:', JSON.stringify(status));
  } catch (error) {
    console.error(`machine client: ${error.message}`);
    process.exitCode = 1;
  }
}
