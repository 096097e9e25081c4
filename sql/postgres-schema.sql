-- pkce-token-router: tables of PostgresCodeStore, PostgresRefreshTokenStore and PostgresKeyStore.

CREATE TABLE IF NOT EXISTS pkce_authorization_codes (
  code_hash   text PRIMARY KEY,      -- SHA-256 of the code, base64url: never the code itself
  grant_data  jsonb NOT NULL,        -- what the authorization step decided
  expires_at  timestamptz NOT NULL,
  redeemed_at timestamptz            -- set once, by the one redeem that wins
);
CREATE INDEX IF NOT EXISTS pkce_authorization_codes_expires_at_idx ON pkce_authorization_codes (expires_at);
CREATE TABLE IF NOT EXISTS pkce_authorization_codes_seen (
  seen_key   text PRIMARY KEY,       -- what may be used once: a hash (an assertion's client and jti)
  expires_at timestamptz NOT NULL    -- remembered until then
);
CREATE INDEX IF NOT EXISTS pkce_authorization_codes_seen_exp_idx ON pkce_authorization_codes_seen (expires_at);

CREATE TABLE IF NOT EXISTS pkce_refresh_tokens (
  token_hash        text PRIMARY KEY,      -- SHA-256 of the refresh token, base64url: never the token
  family_id         text NOT NULL,
  record            jsonb NOT NULL,
  expires_at        timestamptz NOT NULL,
  family_expires_at timestamptz NOT NULL,
  spent_at          timestamptz            -- set once, by the one rotate that wins
);
CREATE INDEX IF NOT EXISTS pkce_refresh_tokens_family_id_idx ON pkce_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS pkce_refresh_tokens_expires_at_idx ON pkce_refresh_tokens (expires_at);
CREATE TABLE IF NOT EXISTS pkce_refresh_tokens_revoked_families (
  family_id  text PRIMARY KEY,
  expires_at timestamptz NOT NULL        -- remembered until the family would have ended anyway
);
CREATE INDEX IF NOT EXISTS pkce_refresh_tokens_revoked_families_expires_at_idx ON pkce_refresh_tokens_revoked_families (expires_at);

CREATE TABLE IF NOT EXISTS pkce_signing_keys (
  kid         text PRIMARY KEY,
  alg         text NOT NULL,
  period      bigint,                -- the rotation period a scheduled key signs in; NULL for a key added by hand
  created_at  timestamptz NOT NULL,
  signs_from  timestamptz,           -- NULL: published, signing only once promoted
  retired_at  timestamptz,           -- set when retired by hand
  kek_id      text NOT NULL,         -- the key-encryption key that encrypted private_jwk
  private_jwk text NOT NULL,         -- AES-256-GCM: iv.ciphertext.tag, base64url; never the JWK itself
  CONSTRAINT pkce_signing_keys_period_key UNIQUE (period)
);
