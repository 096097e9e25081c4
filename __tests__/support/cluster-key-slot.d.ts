// cluster-key-slot (ioredis's own dependency) ships no types: the one function the tests use.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of a key, honouring {hash tags}. */
  export default function calculateSlot(key: string): number;
}
