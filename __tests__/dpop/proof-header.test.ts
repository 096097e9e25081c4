import express from 'express';
import request from 'supertest';
import { dpopHeaderValues } from '../../lib/dpop/proof-header.js';

// RFC 9449 §4.3 check 1: "There is not more than one DPoP HTTP request header field."
describe('dpopHeaderValues', () => {
  const app = express();
  app.get('/', (req, res) => {
    res.json(dpopHeaderValues(req));
  });

  it('reads no value from a request without a DPoP header', async () => {
    expect((await request(app).get('/')).body).toEqual([]);
  });

  it('reads one value from one DPoP header', async () => {
    expect((await request(app).get('/').set('DPoP', 'a.b.c')).body).toEqual(['a.b.c']);
  });

  it('reads two values from two DPoP headers, not one joined value', async () => {
    const response = await request(app)
      .get('/')
      .set('DPoP', ['a.b.c', 'd.e.f'] as unknown as string); // superagent sends an array as two header fields
    expect(response.body).toEqual(['a.b.c', 'd.e.f']);
  });
});
