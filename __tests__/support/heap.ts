import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The flag exposes `gc` to contexts made after it: a full collection on demand, without
// starting jest with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** The heap in use after a full garbage collection, in bytes. */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
