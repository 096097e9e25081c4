import { ConfigurationError, describeValue } from '../../config/configuration-error.js';

/** The default table of `PostgresCodeStore`. */
export const DEFAULT_CODE_TABLE = 'pkce_authorization_codes';
/** The default table of `PostgresRefreshTokenStore`; revoked families go in `{table}_revoked_families`. */
export const DEFAULT_REFRESH_TOKEN_TABLE = 'pkce_refresh_tokens';
/** The default table of `PostgresKeyStore`. */
export const DEFAULT_KEY_TABLE = 'pkce_signing_keys';

/** A plain SQL identifier: what needs no quoting and cannot smuggle anything into a statement. */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** Postgres keeps 63 bytes of a name and silently cuts the rest: derived names must fit. */
const MAX_IDENTIFIER_LENGTH = 63;
/** The longest suffix each table's derived names add (index names, the revoked-families table). */
export const CODE_TABLE_SUFFIX = '_expires_at_idx';
export const REFRESH_TOKEN_TABLE_SUFFIX = '_revoked_families_expires_at_idx';
export const KEY_TABLE_SUFFIX = '_period_key';

/** A checked table name: `name` or `schema.name`. */
export interface TableName {
  /** The name to use in statements, schema-qualified when one was given. */
  qualified: string;
  /** The bare name, to derive index and companion-table names from. */
  base: string;
  /** `schema.` or empty, for companion tables in the same schema. */
  schemaPrefix: string;
}

/** Check a `table` option: lower-case identifiers only, so it can go into SQL as it is. */
export function resolveTableName(adapter: string, value: unknown, fallback: string, longestSuffix: string): TableName {
  const maxLength = MAX_IDENTIFIER_LENGTH - longestSuffix.length;
  const name = value ?? fallback;
  const parts = typeof name === 'string' ? name.split('.') : [];
  const valid = parts.length >= 1 && parts.length <= 2 && parts.every((part) => IDENTIFIER.test(part));
  const base = parts[parts.length - 1] ?? '';
  if (!valid || base.length > maxLength) {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'table',
      `${adapter}: table must be "name" or "schema.name" of lower-case letters, digits and _ (name at most ${maxLength} characters); received ${describeValue(name)}`,
    );
  }
  const schemaPrefix = parts.length === 2 ? `${parts[0]}.` : '';
  return { qualified: `${schemaPrefix}${base}`, base, schemaPrefix };
}

/** The revoked-families table that goes with a refresh-token table. */
export function revokedFamiliesTable(table: TableName): string {
  return `${table.schemaPrefix}${table.base}_revoked_families`;
}

/** The keys seen once (`PostgresCodeStore.markSeen`) that go with a code table. */
export function seenKeysTable(table: TableName): string {
  return `${table.schemaPrefix}${table.base}_seen`;
}

/** The statements `PostgresCodeStore.migrate()` runs; each may run again without harm. */
export function codeTableSql(table: TableName): string {
  const seen = seenKeysTable(table);
  return `CREATE TABLE IF NOT EXISTS ${table.qualified} (
  code_hash   text PRIMARY KEY,      -- SHA-256 of the code, base64url: never the code itself
  grant_data  jsonb NOT NULL,        -- what the authorization step decided
  expires_at  timestamptz NOT NULL,
  redeemed_at timestamptz            -- set once, by the one redeem that wins
);
CREATE INDEX IF NOT EXISTS ${table.base}_expires_at_idx ON ${table.qualified} (expires_at);
CREATE TABLE IF NOT EXISTS ${seen} (
  seen_key   text PRIMARY KEY,       -- what may be used once: a hash (an assertion's client and jti)
  expires_at timestamptz NOT NULL    -- remembered until then
);
CREATE INDEX IF NOT EXISTS ${table.base}_seen_exp_idx ON ${seen} (expires_at);
`;
}

/** The statements `PostgresRefreshTokenStore.migrate()` runs; each may run again without harm. */
export function refreshTokenTableSql(table: TableName): string {
  const revoked = revokedFamiliesTable(table);
  return `CREATE TABLE IF NOT EXISTS ${table.qualified} (
  token_hash        text PRIMARY KEY,      -- SHA-256 of the refresh token, base64url: never the token
  family_id         text NOT NULL,
  record            jsonb NOT NULL,
  expires_at        timestamptz NOT NULL,
  family_expires_at timestamptz NOT NULL,
  spent_at          timestamptz            -- set once, by the one rotate that wins
);
CREATE INDEX IF NOT EXISTS ${table.base}_family_id_idx ON ${table.qualified} (family_id);
CREATE INDEX IF NOT EXISTS ${table.base}_expires_at_idx ON ${table.qualified} (expires_at);
CREATE TABLE IF NOT EXISTS ${revoked} (
  family_id  text PRIMARY KEY,
  expires_at timestamptz NOT NULL        -- remembered until the family would have ended anyway
);
CREATE INDEX IF NOT EXISTS ${table.base}_revoked_families_expires_at_idx ON ${revoked} (expires_at);
`;
}

/**
 * The statements `PostgresKeyStore` runs with `migrate: true`; each may run again without harm.
 * The UNIQUE period is what makes "one key a period" atomic: of instances racing to make a
 * period's key, one INSERT wins and the others do nothing.
 */
export function keyTableSql(table: TableName): string {
  return `CREATE TABLE IF NOT EXISTS ${table.qualified} (
  kid         text PRIMARY KEY,
  alg         text NOT NULL,
  period      bigint,                -- the rotation period a scheduled key signs in; NULL for a key added by hand
  created_at  timestamptz NOT NULL,
  signs_from  timestamptz,           -- NULL: published, signing only once promoted
  retired_at  timestamptz,           -- set when retired by hand
  kek_id      text NOT NULL,         -- the key-encryption key that encrypted private_jwk
  private_jwk text NOT NULL,         -- AES-256-GCM: iv.ciphertext.tag, base64url; never the JWK itself
  CONSTRAINT ${table.base}_period_key UNIQUE (period)
);
`;
}

/**
 * The whole schema of the Postgres stores, for teams that run their own migrations. With no
 * arguments it is exactly `sql/postgres-schema.sql` in the package.
 */
export function postgresSchema(
  options: { codeTable?: string; refreshTokenTable?: string; keyTable?: string } = {},
): string {
  const codes = resolveTableName('postgresSchema', options.codeTable, DEFAULT_CODE_TABLE, CODE_TABLE_SUFFIX);
  const refresh = resolveTableName(
    'postgresSchema',
    options.refreshTokenTable,
    DEFAULT_REFRESH_TOKEN_TABLE,
    REFRESH_TOKEN_TABLE_SUFFIX,
  );
  const keys = resolveTableName('postgresSchema', options.keyTable, DEFAULT_KEY_TABLE, KEY_TABLE_SUFFIX);
  return `-- pkce-token-router: tables of PostgresCodeStore, PostgresRefreshTokenStore and PostgresKeyStore.\n\n${codeTableSql(codes)}\n${refreshTokenTableSql(refresh)}\n${keyTableSql(keys)}`;
}
