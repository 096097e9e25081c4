import { ConfigError, readConfig } from '../example-app/config.js';

describe("the example app's REFRESH_TOKEN_REUSE_INTERVAL", () => {
  it('is absent unless set: the app then uses its 10 s default', () => {
    expect(readConfig({}).refreshTokenReuseInterval).toBeUndefined();
  });

  it('takes a whole number of seconds from 0 (strict rotation) to 60', () => {
    expect(readConfig({ REFRESH_TOKEN_REUSE_INTERVAL: '0' }).refreshTokenReuseInterval).toBe(0);
    expect(readConfig({ REFRESH_TOKEN_REUSE_INTERVAL: '60' }).refreshTokenReuseInterval).toBe(60);
  });

  it.each(['61', '-1', '1.5', 'ten'])('refuses %s, naming the variable', (value) => {
    expect(() => readConfig({ REFRESH_TOKEN_REUSE_INTERVAL: value })).toThrow(ConfigError);
    expect(() => readConfig({ REFRESH_TOKEN_REUSE_INTERVAL: value })).toThrow(/^REFRESH_TOKEN_REUSE_INTERVAL /);
  });
});
