import { randomBytes } from 'node:crypto';
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

describe("the example app's KEY_STORE and KEY_ENCRYPTION_KEY", () => {
  const kek = randomBytes(32);
  const base64 = kek.toString('base64');
  const base64url = kek.toString('base64url');
  const redis = { KEY_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' };
  const postgres = { KEY_STORE: 'postgres', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };

  /** The ConfigError `env` gives, checked to name `variable` first and to hold none of `secrets`. */
  function refusal(env: Record<string, string>, variable: string, secrets: string[] = []): string {
    let caught: unknown;
    try {
      readConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const { message } = caught as ConfigError;
    expect((caught as ConfigError).variable).toBe(variable);
    expect(message.startsWith(`${variable} `)).toBe(true);
    for (const secret of secrets) expect(message).not.toContain(secret);
    return message;
  }

  it('default to memory: the keys of SIGNING_JWKS, or one generated, as before; no key-encryption key', () => {
    const config = readConfig({});
    expect(config.keyStore).toBe('memory');
    expect(config.keyEncryptionKey).toBeUndefined();
    expect(config).not.toHaveProperty('redisUrl');
  });

  it('take one key, base64 or base64url, as the key-encryption key "default"', () => {
    for (const text of [base64, base64.replace(/=$/, ''), base64url]) {
      const config = readConfig({ ...redis, KEY_ENCRYPTION_KEY: text });
      expect(config.keyStore).toBe('redis');
      expect(config.redisUrl).toBe(redis.REDIS_URL);
      expect(config.keyEncryptionKey).toEqual([{ id: 'default', key: kek }]);
    }
  });

  it('take a list id:key,id:key in its order: the first encrypts, the others only decrypt', () => {
    const old = randomBytes(32);
    const config = readConfig({
      ...postgres,
      KEY_ENCRYPTION_KEY: `kek-2026.12:${base64url}, kek_1:${old.toString('base64')}`,
    });
    expect(config.keyStore).toBe('postgres');
    expect(config.databaseUrl).toBe(postgres.DATABASE_URL);
    expect(config.keyEncryptionKey).toEqual([
      { id: 'kek-2026.12', key: kek },
      { id: 'kek_1', key: old },
    ]);
  });

  it('KEY_STORE=redis reuses the REDIS_URL of STORE=redis, and needs it with STORE=memory too', () => {
    const both = readConfig({ ...redis, STORE: 'redis', KEY_ENCRYPTION_KEY: base64 });
    expect([both.store, both.keyStore, both.redisUrl]).toEqual(['redis', 'redis', redis.REDIS_URL]);
    expect(refusal({ KEY_STORE: 'redis', KEY_ENCRYPTION_KEY: base64 }, 'REDIS_URL', [base64])).toMatch(
      /required with KEY_STORE=redis/,
    );
    expect(refusal({ KEY_STORE: 'postgres', KEY_ENCRYPTION_KEY: base64 }, 'DATABASE_URL', [base64])).toMatch(
      /required with KEY_STORE=postgres/,
    );
  });

  it('KEY_STORE=postgres keeps STORE_PREFIX to plain identifiers, as STORE=postgres does', () => {
    expect(refusal({ ...postgres, KEY_ENCRYPTION_KEY: base64, STORE_PREFIX: 'My-Prefix' }, 'STORE_PREFIX')).toMatch(
      /with KEY_STORE=postgres/,
    );
    expect(readConfig({ ...postgres, KEY_ENCRYPTION_KEY: base64, STORE_PREFIX: 'app_' }).storePrefix).toBe('app_');
  });

  it.each(['Redis', 'mongo', 'shared'])('refuse KEY_STORE=%s, naming the variable', (value) => {
    expect(refusal({ KEY_STORE: value }, 'KEY_STORE')).toMatch(/must be one of memory, redis, postgres/);
  });

  it('refuse a shared KEY_STORE without KEY_ENCRYPTION_KEY, saying how to make one', () => {
    expect(refusal(redis, 'KEY_ENCRYPTION_KEY')).toMatch(/required with KEY_STORE=redis.*randomBytes\(32\)/);
    expect(refusal(postgres, 'KEY_ENCRYPTION_KEY')).toMatch(/required with KEY_STORE=postgres/);
  });

  it('refuse KEY_ENCRYPTION_KEY with KEY_STORE=memory, without echoing it', () => {
    expect(refusal({ KEY_ENCRYPTION_KEY: base64 }, 'KEY_ENCRYPTION_KEY', [base64, base64url])).toMatch(
      /only used with KEY_STORE=redis or KEY_STORE=postgres/,
    );
  });

  it('refuse SIGNING_JWKS with a shared KEY_STORE: the store makes and rotates its own keys', () => {
    const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', d: 'private-part', x: 'x', y: 'y' }] });
    const message = refusal({ ...redis, KEY_ENCRYPTION_KEY: base64, SIGNING_JWKS: jwks }, 'SIGNING_JWKS', [
      'private-part',
      base64,
    ]);
    expect(message).toMatch(/cannot be used with KEY_STORE=redis/);
  });

  const short = randomBytes(16).toString('base64');
  const long = randomBytes(48).toString('base64url');
  const notBase64 = `${base64url.slice(0, 42)}!`;
  const mixed = `+${base64url.slice(1, 42)}_`;
  const good = `a:${base64url}`;
  it.each([
    ['16 bytes', short, /must be 32 bytes in base64 or base64url/],
    ['48 bytes', long, /must be 32 bytes/],
    ['a character of neither alphabet', notBase64, /must be 32 bytes/],
    ['both alphabets at once', mixed, /must be 32 bytes/],
    ['a list entry without an id', `${good},${base64url}`, /entry 2 of 2 must be id:key/],
    ['a list entry with an empty id', `:${base64url}`, /entry 1 of 1 has an id that is not/],
    ['a list entry with a space in its id', `${good},b c:${base64url}`, /entry 2 of 2 has an id that is not/],
    ['a short key in a list', `${good},b:${short},c:${long}`, /entry 2 of 3 must be 32 bytes/],
    ['an id given twice', `${good},b:${base64},a:${base64}`, /entry 3 of 3 has the same id as entry 1/],
    ['an empty list entry', `${good},`, /entry 2 of 2 must be id:key/],
  ])('refuse a KEY_ENCRYPTION_KEY of %s, naming the variable and the entry, never the keys', (_, text, why) => {
    const message = refusal({ ...redis, KEY_ENCRYPTION_KEY: text }, 'KEY_ENCRYPTION_KEY', [
      base64,
      base64url,
      short,
      long,
      notBase64,
      mixed,
    ]);
    expect(message).toMatch(why);
    expect(message).toMatch(/make a key with node -e/);
  });
});
