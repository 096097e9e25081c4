import { MemoryCodeStore, MemoryRefreshTokenStore } from '../../../lib/index.js';
import {
  atomicExchangeContract,
  authorizationCodeStoreContract,
  refreshTokenStoreContract,
  replayStoreContract,
} from '../../../lib/testing/index.js';
import { fakeClock } from '../../support/fake-clock.js';

const codeClock = fakeClock();
authorizationCodeStoreContract(
  { describe, it, expect },
  {
    name: 'MemoryCodeStore',
    ...codeClock,
    // Nothing of it is at rest: it holds, in this process, only the keys it is given.
    checkAtRest: false,
    create: () => {
      const store = new MemoryCodeStore({ now: codeClock.now });
      return { store, cleanup: () => store.close() };
    },
  },
);

const refreshClock = fakeClock();
refreshTokenStoreContract(
  { describe, it, expect },
  {
    name: 'MemoryRefreshTokenStore',
    ...refreshClock,
    checkAtRest: false,
    create: () => {
      const store = new MemoryRefreshTokenStore({ now: refreshClock.now });
      return { store, cleanup: () => store.close() };
    },
  },
);

const pairClock = fakeClock();
atomicExchangeContract(
  { describe, it, expect },
  {
    name: 'MemoryCodeStore with MemoryRefreshTokenStore',
    ...pairClock,
    checkAtRest: false,
    create: () => {
      const codeStore = new MemoryCodeStore({ now: pairClock.now });
      const refreshTokenStore = new MemoryRefreshTokenStore({ now: pairClock.now });
      return {
        store: { codeStore, refreshTokenStore },
        cleanup: () => {
          codeStore.close();
          refreshTokenStore.close();
        },
      };
    },
  },
);

const seenClock = fakeClock();
replayStoreContract(
  { describe, it, expect },
  {
    name: 'MemoryCodeStore',
    ...seenClock,
    checkAtRest: false,
    create: () => {
      const store = new MemoryCodeStore({ now: seenClock.now });
      return { store, cleanup: () => store.close() };
    },
  },
);
