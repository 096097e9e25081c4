import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The flag exposes `gc` to contexts made after it: a full collection on demand, without
// starting jest with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** The heap in use after a full garbage collection, in bytes. */
export function heapAfterGc(): number {
  // Twice: V8 may leave a collection's pages to be swept concurrently, and until they are swept
  // `heapUsed` still counts their dead objects. The second collection finishes sweeping the first
  // before it starts, so what is counted after it is what was alive before the first.
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
