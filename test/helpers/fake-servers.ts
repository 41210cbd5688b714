import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';

/** A server started on 127.0.0.1 for one test. */
export interface FakeServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Most connections open at the same time. */
  readonly maxConcurrent: number;
  close(): Promise<void>;
}

/** Starts a TCP server whose every connection goes to `onConnection`. */
export async function startTcpServer(onConnection: (socket: Socket) => void): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let maxConcurrent = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    maxConcurrent = Math.max(maxConcurrent, sockets.size);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** Starts an HTTP server on 127.0.0.1 with `handler` for every request. */
export async function startHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<FakeServer & { url: string }> {
  let connections = 0;
  const server = createHttpServer((request, response) => {
    connections += 1;
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    maxConcurrent: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request body to the end. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Open TCP handles and heap bytes after a full garbage collection. */
export async function measureResources(): Promise<{ tcpHandles: number; heapBytes: number }> {
  // Closed sockets release their handles on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
  collectGarbage();
  collectGarbage();
  const tcpHandles = process
    .getActiveResourcesInfo()
    .filter((name) => name === 'TCPSocketWrap' || name === 'TCPWRAP' || name === 'TCPWrap').length;
  return { tcpHandles, heapBytes: process.memoryUsage().heapUsed };
}
