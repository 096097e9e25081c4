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
    socket.on('data', (chunk) => {
      if (this.#mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.#mode === 'forward') socket.write(chunk);
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

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
