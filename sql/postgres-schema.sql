-- pkce-token-router: tables of PostgresCodeStore and PostgresRefreshTokenStore.

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
