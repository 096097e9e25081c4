export type {
  AuthorizationErrorCode,
  AuthorizationErrorOptions,
  AuthorizationParams,
  AuthorizationQuery,
  AuthorizationRedirectError,
  AuthorizationRequest,
  AuthorizationRequestClient,
  AuthorizationRequestError,
  AuthorizationRequestOptions,
  AuthorizationRequestOutcome,
  AuthorizationResponseOptions,
  AuthorizationResponseTarget,
  AuthorizationShowError,
  PromptValue,
  RequestedGrant,
  ValidAuthorizationRequest,
} from './authorize/authorization-request.js';
export { checkAuthorizationRequest } from './authorize/check-request.js';
export type { AuthorizationCodeRequest, IssueCodeOptions } from './authorize/issue-code.js';
export { issueAuthorizationCode } from './authorize/issue-code.js';
export { authorizationErrorUrl, authorizationResponseUrl } from './authorize/response-url.js';
export { hashClientSecret } from './clients/client-secret.js';
export type { ConfigurationErrorCode } from './config/configuration-error.js';
export { ConfigurationError } from './config/configuration-error.js';
export type { DpopNonceOptions, DpopOptions } from './config/dpop-options.js';
export type {
  EndSession,
  EndSessionContext,
  TokenRouterOptions,
  UserInfoCallback,
  UserInfoClaims,
} from './config/options.js';
export type {
  AnyKeyStore,
  AnySigningKey,
  AtomicCodeExchange,
  AuthorizationCodeGrant,
  AuthorizationCodeStore,
  Client,
  ClientAuthMethod,
  ClientGrantType,
  ClientRegistry,
  Clock,
  EpochSeconds,
  ExternalKeyStore,
  ExternalSigningKey,
  ExtraClaims,
  FirstRefreshToken,
  GraceRotateResult,
  GraceWindow,
  KeyStore,
  RedeemResult,
  RefreshTokenRecord,
  RefreshTokenStore,
  ReplayStore,
  RotateResult,
  SigningKey,
} from './contracts.js';
export { derToJoseSignature } from './crypto/der-signature.js';
export { ExternalSignerError } from './crypto/external-jws.js';
export { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHMS } from './dpop/verify-proof.js';
export type {
  CodeRedeemedEvent,
  CodeReplayedEvent,
  RefreshReuseDetectedEvent,
  RefreshRotatedEvent,
  RequestRejectedEvent,
  SessionEndedEvent,
  TokenIntrospectedEvent,
  TokenIssuedEvent,
  TokenRevokedEvent,
  TokenRouterEvent,
  TokenRouterEventListener,
} from './events.js';
export type { ResourceDpopOptions } from './resource/dpop-option.js';
export type { AccessTokenAuth, RequireAccessTokenOptions } from './resource/require-access-token.js';
export { requireAccessToken } from './resource/require-access-token.js';
export type {
  AccessTokenRejectReason,
  AccessTokenVerification,
  VerifiedAccessToken,
  VerifyAccessTokenOptions,
} from './resource/verify-access-token.js';
export { verifyAccessToken } from './resource/verify-access-token.js';
export type { ErrorProfile } from './response/error-profiles.js';
export type { RejectReason } from './response/request-error.js';
export { createTokenRouter } from './router.js';
export { StoreTimeoutError } from './stores/bounded-call.js';
export type { ChildProcessSignerOptions } from './stores/external/child-process-signer.js';
export { ChildProcessSigner, startChildProcessSigner } from './stores/external/child-process-signer.js';
export type { ExternalKeyStoreOptions } from './stores/external/external-key-store.js';
export { externalKeyStore } from './stores/external/external-key-store.js';
export type { KeyEncryptionKey, KeyEncryptionKeyOption } from './stores/key-encryption.js';
export type { RotationOptions, SharedKeyState } from './stores/key-schedule.js';
export type {
  KeyStoreEvent,
  KeyStoreEventListener,
  KeyStoreRecoveredEvent,
  KeyStoreStaleEvent,
  SigningKeyCreatedEvent,
} from './stores/key-store-events.js';
export type { MemoryStoreOptions } from './stores/memory/expiring-map.js';
export { MemoryCodeStore } from './stores/memory/memory-code-store.js';
export type { KeyInfo, KeyStatus, MemoryKeyStoreOptions, SigningAlgorithm } from './stores/memory/memory-key-store.js';
export { MemoryKeyStore } from './stores/memory/memory-key-store.js';
export { MemoryRefreshTokenStore } from './stores/memory/memory-refresh-token-store.js';
export { PostgresCodeStore } from './stores/postgres/postgres-code-store.js';
export type { PostgresKeyStoreOptions } from './stores/postgres/postgres-key-store.js';
export { PostgresKeyStore } from './stores/postgres/postgres-key-store.js';
export type { PostgresPool, PostgresStoreOptions } from './stores/postgres/postgres-pool.js';
export { PostgresRefreshTokenStore } from './stores/postgres/postgres-refresh-token-store.js';
export { postgresSchema } from './stores/postgres/postgres-schema.js';
export { RedisCodeStore } from './stores/redis/redis-code-store.js';
export type { RedisKeyStoreOptions } from './stores/redis/redis-key-store.js';
export { RedisKeyStore } from './stores/redis/redis-key-store.js';
export { RedisRefreshTokenStore } from './stores/redis/redis-refresh-token-store.js';
export type { RedisScriptClient, RedisStoreOptions } from './stores/redis/redis-script.js';
export { firstRefreshTokenRecord } from './stores/refresh-records.js';
export type { SharedKeyInfo, SharedKeyStoreOptions } from './stores/shared-key-store.js';
export { KeyUnavailableError, SharedKeyStore } from './stores/shared-key-store.js';
export type { AccessTokenFormat } from './tokens/claims.js';
export type { ClientCredentialsTokenResponse, TokenResponse } from './tokens/issuance.js';
