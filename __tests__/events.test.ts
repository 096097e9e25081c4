import { jest } from '@jest/globals';
import request from 'supertest';
import type { TokenRouterEvent } from '../lib/index.js';
import { heapAfterGc } from './support/heap.js';
import {
  CLIENT_ID,
  form,
  type Harness,
  harness,
  postToken,
  REDIRECT_URI,
  refreshForm,
  TWO_CLIENTS,
} from './support/helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const NOW = 1_700_000_000_000;

/** A harness whose onEvent keeps every event. */
async function recording(options = {}): Promise<Harness & { events: TokenRouterEvent[] }> {
  const events: TokenRouterEvent[] = [];
  const h = await harness({ now: () => NOW, onEvent: (event) => void events.push(event), ...options });
  return Object.assign(h, { events });
}

describe('audit events (onEvent)', () => {
  it('a code exchange raises code_redeemed, then token_issued with the jti of each token', async () => {
    const h = await recording();
    const res = await postToken(h.app, await h.issue({ scope: ['openid', 'api'] }));
    const access = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
    const id = JSON.parse(Buffer.from(res.body.id_token.split('.')[1], 'base64url').toString());
    expect(h.events).toEqual([
      { type: 'code_redeemed', clientId: CLIENT_ID, subject: 'user-123', familyId: expect.any(String), time: NOW },
      {
        type: 'token_issued',
        grantType: 'authorization_code',
        clientId: CLIENT_ID,
        subject: 'user-123',
        scope: ['openid', 'api'],
        accessTokenJti: access.jti,
        idTokenJti: id.jti,
        familyId: h.events[0]!.type === 'code_redeemed' ? h.events[0]!.familyId : '',
        time: NOW,
      },
    ]);
    expect(access.jti).toMatch(UUID);
    h.close();
  });

  it('a request_rejected event keeps no part of the request body alive: its client_id and grant_type are copies', async () => {
    const h = await recording({ bodyLimit: 40 * 2 ** 20 });
    // A 32 MiB code_verifier, refused as malformed once client_id and grant_type have passed. The
    // client_id is long enough (13 characters or more) for V8 to cut it from the body as a slice.
    const clientId = 'a-client-id-long-enough';
    const res = await postToken(h.app, {
      ...(await h.issue()),
      client_id: clientId,
      code_verifier: 'v'.repeat(32 * 2 ** 20),
    });
    expect(res.body.error).toBe('invalid_client'); // the default (ciam) profile's answer
    expect(h.events).toEqual([
      expect.objectContaining({ type: 'request_rejected', clientId, grantType: 'authorization_code' }),
    ]);
    // What the kept events hold: the heap with them, less the heap without them, read back to
    // back (no turn of the event loop between), so whatever else the request left is in both.
    const withEvents = heapAfterGc();
    h.events.length = 0;
    expect(withEvents - heapAfterGc()).toBeLessThan(2 ** 20);
    h.close();
  });

  it('a replayed code raises code_replayed, then request_rejected', async () => {
    const h = await recording();
    const valid = await h.issue();
    await postToken(h.app, valid);
    h.events.length = 0;
    await postToken(h.app, valid);
    expect(h.events.map((event) => event.type)).toEqual(['code_replayed', 'request_rejected']);
    expect(h.events[0]).toMatchObject({ clientId: CLIENT_ID, subject: 'user-123' });
    expect(h.events[1]).toMatchObject({
      endpoint: 'token',
      reason: 'code_invalid',
      status: 401,
      error: 'invalid_client',
      clientId: CLIENT_ID,
      grantType: 'authorization_code',
    });
    h.close();
  });

  it('a refresh raises refresh_rotated, then token_issued for the refresh_token grant, in the same family', async () => {
    const h = await recording();
    const first = await postToken(h.app, await h.issue());
    const familyId = (h.events[0] as { familyId: string }).familyId;
    h.events.length = 0;
    await postToken(h.app, refreshForm(first.body.refresh_token));
    expect(h.events).toEqual([
      { type: 'refresh_rotated', clientId: CLIENT_ID, subject: 'user-123', familyId, time: NOW },
      expect.objectContaining({ type: 'token_issued', grantType: 'refresh_token', familyId, scope: ['openid'] }),
    ]);
    h.close();
  });

  it('reuse of a rotated token raises refresh_reuse_detected, then request_rejected with its reason', async () => {
    const h = await recording();
    const first = await postToken(h.app, await h.issue());
    await postToken(h.app, refreshForm(first.body.refresh_token));
    h.events.length = 0;
    await postToken(h.app, refreshForm(first.body.refresh_token));
    expect(h.events.map((event) => event.type)).toEqual(['refresh_reuse_detected', 'request_rejected']);
    expect(h.events[1]).toMatchObject({
      reason: 'refresh_token_reused',
      status: 400,
      error: 'invalid_grant',
      subject: 'user-123',
      familyId: expect.any(String),
    });
    h.close();
  });

  it('a revocation raises token_revoked', async () => {
    const h = await recording();
    const first = await postToken(h.app, await h.issue());
    h.events.length = 0;
    await request(h.app)
      .post('/oauth2/revoke')
      .type('form')
      .send({ client_id: CLIENT_ID, token: first.body.refresh_token });
    expect(h.events).toEqual([
      { type: 'token_revoked', clientId: CLIENT_ID, subject: 'user-123', familyId: expect.any(String), time: NOW },
    ]);
    h.close();
  });

  it.each([
    [
      'a missing client_id',
      { grant_type: 'authorization_code' },
      { reason: 'client_id_invalid', status: 400, error: 'invalid_request' },
    ],
    [
      'an unsupported grant type',
      { client_id: CLIENT_ID, grant_type: 'password' },
      { reason: 'grant_type_unsupported', clientId: CLIENT_ID },
    ],
    [
      'a malformed verifier',
      {
        client_id: CLIENT_ID,
        grant_type: 'authorization_code',
        code: 'c',
        redirect_uri: REDIRECT_URI,
        code_verifier: 'short',
      },
      { reason: 'code_verifier_malformed', clientId: CLIENT_ID, grantType: 'authorization_code' },
    ],
    [
      'an unknown refresh token',
      refreshForm('never-issued'),
      { reason: 'refresh_token_invalid', status: 400, error: 'invalid_grant', grantType: 'refresh_token' },
    ],
  ])('%s raises exactly one request_rejected, with the reason', async (_name, body, expected) => {
    const h = await recording();
    await postToken(h.app, body as Record<string, string>);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ type: 'request_rejected', endpoint: 'token', ...expected });
    h.close();
  });

  it('a malformed client_id is never echoed into the event', async () => {
    const h = await recording();
    await postToken(h.app, { client_id: 'x'.repeat(300), grant_type: 'authorization_code' });
    expect(h.events[0]).not.toHaveProperty('clientId');
    h.close();
  });

  it('a refused revocation raises request_rejected for the revocation endpoint', async () => {
    const h = await recording();
    await request(h.app).post('/oauth2/revoke').type('form').send({ client_id: CLIENT_ID });
    expect(h.events).toEqual([
      expect.objectContaining({
        type: 'request_rejected',
        endpoint: 'revocation',
        reason: 'parameter_invalid',
        clientId: CLIENT_ID,
      }),
    ]);
    h.close();
  });

  it('never contains a code, verifier, token or key', async () => {
    const h = await recording({ clients: TWO_CLIENTS });
    const secrets: string[] = [];
    const valid = await h.issue({ nonce: 'nonce-1' });
    const first = await postToken(h.app, valid);
    const second = await postToken(h.app, refreshForm(first.body.refresh_token));
    await postToken(h.app, refreshForm(first.body.refresh_token));
    await postToken(h.app, valid);
    const wrongVerifier = await h.issue();
    await postToken(h.app, { ...wrongVerifier, code_verifier: 'v'.repeat(43) });
    const third = await postToken(h.app, await h.issue());
    await postToken(h.app, refreshForm(third.body.refresh_token, { client_id: 'other' }));
    const fourth = await postToken(h.app, await h.issue());
    await request(h.app)
      .post('/oauth2/revoke')
      .type('form')
      .send(form({ client_id: CLIENT_ID, token: fourth.body.refresh_token }));
    expect(new Set(h.events.map((event) => event.type))).toEqual(
      new Set([
        'token_issued',
        'code_redeemed',
        'code_replayed',
        'refresh_rotated',
        'refresh_reuse_detected',
        'token_revoked',
        'request_rejected',
      ]),
    );
    secrets.push(valid.code!, valid.code_verifier!, wrongVerifier.code!, wrongVerifier.code_verifier!);
    for (const res of [first, second, third, fourth])
      secrets.push(res.body.access_token, res.body.refresh_token, res.body.id_token);
    // Not even the public key: events name keys by nothing at all.
    secrets.push((await h.keyStore.publicJwks()).keys[0]!.n!);
    expect(secrets.every((secret) => typeof secret === 'string' && secret.length >= 43)).toBe(true);
    const logged = JSON.stringify(h.events);
    for (const secret of secrets) expect(logged).not.toContain(secret);
    // Nor any part of a JWT (a signature or a payload), nor any 128-character base64url string.
    expect(logged).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(logged).not.toMatch(/[A-Za-z0-9_-]{100,}/);
    h.close();
  });

  it('a listener that throws never breaks the request', async () => {
    const warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const h = await harness({
      onEvent: () => {
        throw new Error('logger down');
      },
    });
    const res = await postToken(h.app, await h.issue());
    expect(res.status).toBe(200);
    expect((await postToken(h.app, refreshForm(res.body.refresh_token))).status).toBe(200);
    expect((await postToken(h.app, { client_id: CLIENT_ID })).status).toBe(400);
    // Said once, and without the listener's message.
    expect(warning).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warning.mock.calls)).not.toContain('logger down');
    warning.mockRestore();
    h.close();
  });

  it('a listener whose promise rejects never breaks the request, nor the process', async () => {
    const warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    const h = await harness({ onEvent: () => Promise.reject(new Error('async logger down')) });
    const res = await postToken(h.app, await h.issue());
    expect(res.status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).not.toHaveBeenCalled();
    expect(warning).toHaveBeenCalledTimes(1);
    process.off('unhandledRejection', unhandled);
    warning.mockRestore();
    h.close();
  });

  it('onEvent must be a function', async () => {
    await expect(harness({ onEvent: 'console.log' as never })).rejects.toMatchObject({
      code: 'ERR_OPTION_INVALID',
      option: 'onEvent',
    });
  });
});
