import { jest } from '@jest/globals';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { createTokenRouter, MemoryCodeStore } from '../lib/index.js';
import { form, harness, ISSUER, postToken, sharedKeyStore } from './support/helpers.js';

describe("the host app is someone else's house", () => {
  it('works mounted under a prefix', async () => {
    const h = await harness();
    const app = express().use('/auth', h.app);
    expect((await postToken(app, await h.issue(), '/auth/oauth2/token')).status).toBe(200);
    expect((await request(app).get('/auth/oauth2/jwks')).status).toBe(200);
    h.close();
  });

  it.each([
    ['express.json()', express.json()],
    ['express.urlencoded({ extended: true })', express.urlencoded({ extended: true })],
    ['express.urlencoded({ extended: false })', express.urlencoded({ extended: false })],
    ['express.text({ type: "*/*" })', express.text({ type: '*/*' })],
    ['express.raw({ type: "*/*" })', express.raw({ type: '*/*' })],
  ])("works behind the host's own %s", async (_name, parser) => {
    const h = await harness();
    const app = express().use(parser).use(h.app);
    expect((await postToken(app, await h.issue())).status).toBe(200);
    h.close();
  });

  it('still holds its own body limit behind a host parser with a larger one: 413', async () => {
    const h = await harness();
    const app = express()
      .use(express.urlencoded({ extended: false, limit: '1mb' }))
      .use(h.app);
    const res = await postToken(app, `${form(await h.issue())}&pad=${'x'.repeat(40_000)}`);
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
    h.close();
  });

  it("still refuses a repeated parameter that the host's parser turned into an array", async () => {
    const h = await harness();
    const app = express()
      .use(express.urlencoded({ extended: true }))
      .use(h.app);
    const res = await postToken(app, `${form(await h.issue())}&client_id=web`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    h.close();
  });

  it("still refuses a bracketed parameter that the host's parser turned into an object", async () => {
    const h = await harness();
    const app = express()
      .use(express.urlencoded({ extended: true }))
      .use(h.app);
    const res = await postToken(app, `${form(await h.issue())}&code[a]=1`);
    expect(res.body.error).toBe('invalid_request');
    h.close();
  });

  it("leaves the host's routes, settings and error handlers alone", async () => {
    const codeStore = new MemoryCodeStore();
    const app = express();
    app.set('json spaces', 7);
    const settingsBefore = { ...app.settings };
    const hostErrorHandler = jest.fn<ErrorRequestHandler>(
      (_error, _req, res, _next) => void res.status(500).send('host'),
    );
    app.use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore() }));
    app.post('/api/echo', express.json(), (req, res) => void res.json(req.body));
    app.get('/oauth2/tokenish', (_req, res) => void res.send('host route'));
    app.use(hostErrorHandler);

    const echo = await request(app).post('/api/echo').send({ a: 1 });
    expect(echo.body).toEqual({ a: 1 });
    expect(echo.text).toContain('       "a"');
    expect((await request(app).get('/oauth2/tokenish')).text).toBe('host route');
    expect((await postToken(app, 'client_id=%')).status).toBe(400);
    expect((await postToken(app, `pad=${'x'.repeat(20_000)}`)).status).toBe(413);
    expect(hostErrorHandler).not.toHaveBeenCalled();
    expect(app.settings).toEqual(settingsBefore);
    codeStore.close();
  });

  it('warns once when the host runs in production on the memory stores', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const codeStore = new MemoryCodeStore();
    const app = express().set('env', 'production');
    app.use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore() }));
    await postToken(app, 'a=1');
    await postToken(app, 'a=1');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/MemoryCodeStore and MemoryRefreshTokenStore/);
    warn.mockRestore();
    codeStore.close();
  });

  it('does not warn outside production', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const codeStore = new MemoryCodeStore();
    const app = express().set('env', 'development');
    app.use(createTokenRouter({ issuer: ISSUER, codeStore, keyStore: await sharedKeyStore() }));
    await postToken(app, 'a=1');
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    codeStore.close();
  });
});
