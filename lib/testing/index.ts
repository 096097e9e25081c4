export { authorizationCodeStoreContract } from './code-store-contract.js';
export type { StorePair } from './exchange-contract.js';
export { atomicExchangeContract } from './exchange-contract.js';
export type { ContractMatchers, ContractOptions, StoreFixture, TestFramework } from './framework.js';
export type { KeyStoreContractOptions, KeyStoreFixture, ManagedKeyStore } from './key-store-contract.js';
export { keyStoreContract } from './key-store-contract.js';
export { refreshTokenStoreContract } from './refresh-token-store-contract.js';
export { replayStoreContract } from './replay-store-contract.js';
