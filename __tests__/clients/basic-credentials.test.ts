import { clientIdOfRequest, readBasicCredentials } from '../../lib/clients/authenticate.js';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('RFC 6749 §2.3.1: the client_id and secret are form-urlencoded, then joined by ":" inside HTTP Basic', () => {
  it('reads the id and the secret, each form-urldecoded after the split', () => {
    expect(readBasicCredentials(basic('my%3Aclient:p%40ss+word%2B'))).toEqual({
      clientId: 'my:client',
      secret: 'p@ss word+',
    });
  });

  it('reads the scheme in any case, padding or not', () => {
    const unpadded = Buffer.from('a:b').toString('base64').replace(/=+$/, '');
    expect(readBasicCredentials(`bAsIc ${unpadded}`)).toEqual({ clientId: 'a', secret: 'b' });
  });

  it('leaves other schemes alone (they are not client authentication)', () => {
    expect(readBasicCredentials('Bearer abc')).toBeUndefined();
    expect(readBasicCredentials(undefined)).toBeUndefined();
  });

  it.each([
    ['no colon', basic('client-only')],
    ['bad base64', 'Basic ***'],
    ['base64 with stray bits', 'Basic YR=='],
    ['nothing after the scheme', 'Basic'],
    ['bad percent-encoding', basic('client:%E0%A4%A')],
    ['bytes that are not UTF-8', `Basic ${Buffer.from([0xff, 0x3a, 0x61]).toString('base64')}`],
    ['an empty client_id', basic(':secret')],
  ])('a header with %s is malformed', (_name, header) => {
    expect(readBasicCredentials(header)).toBe('malformed');
  });
});

describe('whose request it is: the body client_id, or the Basic one when the body has none', () => {
  it('takes the Basic client_id when the body has none (or an empty one)', () => {
    expect(clientIdOfRequest({ authorization: basic('web:s'), params: {} })).toEqual({ clientId: 'web' });
    expect(clientIdOfRequest({ authorization: basic('web:s'), params: { client_id: '' } })).toEqual({
      clientId: 'web',
    });
  });

  it('a Basic client_id differing from the body client_id is malformed', () => {
    expect(clientIdOfRequest({ authorization: basic('web:s'), params: { client_id: 'other' } })).toEqual({
      failure: 'client_auth_malformed',
    });
  });

  it('without Basic, the body decides', () => {
    expect(clientIdOfRequest({ authorization: undefined, params: { client_id: 'spa' } })).toEqual({ clientId: 'spa' });
  });
});
