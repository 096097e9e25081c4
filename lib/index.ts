export { createTokenRouter } from './router.js';
export type { TokenRouterOptions } from './options.js';
export { issueAuthorizationCode } from './authorization-code.js';
export type { AuthorizationCodeRequest, IssueCodeOptions } from './authorization-code.js';
export { ConfigurationError } from './configuration-error.js';
export type { ConfigurationErrorCode } from './configuration-error.js';
export type { ErrorProfile } from './error-profiles.js';
export type { TokenResponse } from './token-issuance.js';
export type { AccessTokenFormat } from './tokens.js';
export type { RejectReason } from './request-error.js';
export type {
  CodeRedeemedEvent,
  CodeReplayedEvent,
  RefreshReuseDetectedEvent,
  RefreshRotatedEvent,
  RequestRejectedEvent,
  TokenIssuedEvent,
  TokenRevokedEvent,
  TokenRouterEvent,
  TokenRouterEventListener,
} from './events.js';
export { MemoryCodeStore } from './adapters/memory-code-store.js';
export { MemoryRefreshTokenStore } from './adapters/memory-refresh-token-store.js';
export type { MemoryStoreOptions } from './adapters/expiring-map.js';
export { MemoryKeyStore } from './adapters/memory-key-store.js';
export type { KeyInfo, KeyStatus, MemoryKeyStoreOptions, SigningAlgorithm } from './adapters/memory-key-store.js';
export { RedisCodeStore } from './adapters/redis-code-store.js';
export { RedisRefreshTokenStore } from './adapters/redis-refresh-token-store.js';
export type { RedisScriptClient, RedisStoreOptions } from './adapters/redis-script.js';
export { PostgresCodeStore } from './adapters/postgres-code-store.js';
export { PostgresRefreshTokenStore } from './adapters/postgres-refresh-token-store.js';
export type { PostgresPool, PostgresStoreOptions } from './adapters/postgres-pool.js';
export { postgresSchema } from './adapters/postgres-schema.js';
export { StoreTimeoutError } from './adapters/bounded-call.js';
export { firstRefreshTokenRecord } from './adapters/refresh-records.js';
export type {
  AtomicCodeExchange,
  AuthorizationCodeGrant,
  AuthorizationCodeStore,
  Client,
  ClientRegistry,
  Clock,
  EpochSeconds,
  ExtraClaims,
  FirstRefreshToken,
  KeyStore,
  RedeemResult,
  RefreshTokenRecord,
  RefreshTokenStore,
  RotateResult,
  SigningKey,
} from './adapters/interfaces.js';
