import net from 'node:net';

/**
 * A TCP proxy in front of a real server, which a test can cut and restore: an outage that is
 * real to the client (refused connections, dropped sockets, or silence), without stopping the
 * server that other people share.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #mode: 'forward' | 'stall' = 'forward';
  #trap: Trap | undefined;
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** A proxy to `host:port` on a free local port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.#listen(0);
    return proxy;
  }

  /** The server "stops": open connections drop, new ones are refused. */
  async cut(): Promise<void> {
    await this.#closeListener();
  }

  /** The server "hangs": connections are taken, and nothing comes back on any of them. */
  stall(): void {
    this.#mode = 'stall';
  }

  /**
   * Once the client has sent each of `markers` in turn (bytes of its messages, on one
   * connection), the server's next answer on that connection is lost: both sockets drop
   * before it is passed on, as when a pooler or a network dies with the answer on its way.
   */
  loseAnswerAfter(...markers: string[]): void {
    this.#trap = { markers, seen: 0, action: { kind: 'lose' } };
  }

  /** As {@link loseAnswerAfter}, but the answer (and all after it on that connection) arrives `ms` late. */
  delayAnswerAfter(ms: number, ...markers: string[]): void {
    this.#trap = { markers, seen: 0, action: { kind: 'delay', ms } };
  }

  /** Whether the last trap set went off. */
  get trapSprung(): boolean {
    return this.#trap?.sprung === true;
  }

  /** The server is back on the same port; whatever was stalled is dropped, as after a restart. */
  async restore(): Promise<void> {
    if (this.#mode === 'stall') this.#dropAll();
    this.#mode = 'forward';
    if (this.#server === undefined) await this.#listen(this.port);
  }

  async close(): Promise<void> {
    await this.#closeListener();
  }

  #listen(port: number): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  #accept(socket: net.Socket): void {
    const upstream = net.connect(this.#target.port, this.#target.host);
    for (const end of [socket, upstream]) {
      this.#sockets.add(end);
      end.on('error', () => undefined);
      end.on('close', () => {
        this.#sockets.delete(end);
        socket.destroy();
        upstream.destroy();
      });
    }
    // Not pipe(): in a stall, bytes are swallowed in both directions.
    let armed: Trap | undefined;
    let held: Buffer[] | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (this.#mode !== 'forward') return;
      const trap = this.#trap;
      if (trap !== undefined && trap.sprung === undefined && armed === undefined) {
        while (trap.seen < trap.markers.length && chunk.includes(trap.markers[trap.seen]!)) trap.seen += 1;
        if (trap.seen === trap.markers.length) {
          trap.sprung = false;
          armed = trap;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#mode !== 'forward') return;
      if (held !== undefined) {
        held.push(chunk);
        return;
      }
      if (armed !== undefined) {
        const { action } = armed;
        armed.sprung = true;
        armed = undefined;
        if (action.kind === 'lose') {
          socket.destroy();
          upstream.destroy();
          return;
        }
        held = [chunk];
        setTimeout(() => {
          for (const late of held ?? []) socket.write(late);
          held = undefined;
        }, action.ms);
        return;
      }
      socket.write(chunk);
    });
  }

  #closeListener(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return Promise.resolve();
    // close() waits for open connections to end: drop them, so it can.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#dropAll();
    return closed;
  }

  #dropAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}

/** What happens to the server's answer once the client has sent the trap's markers. */
interface Trap {
  markers: readonly string[];
  /** How many of the markers the client has sent so far. */
  seen: number;
  action: { kind: 'lose' } | { kind: 'delay'; ms: number };
  /** false: armed on a connection, waiting for the answer; true: done. */
  sprung?: boolean;
}

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
