/**
 * socket.io 4 with the websocket transport only (no polling, no upgrade dance), no
 * compression: the configuration its documentation recommends for throughput.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import type { BenchData } from "../payload.js";
import { ECHO_METHOD } from "../payload.js";
import type { ContenderServer, StartOptions } from "./types.js";

export async function startSocketIoServer(options: StartOptions): Promise<ContenderServer> {
  const http = createServer();
  const io = new Server(http, {
    transports: ["websocket"],
    serveClient: false,
    perMessageDeflate: false,
    httpCompression: false,
    ...(options.heartbeatMs === undefined
      ? {}
      : { pingInterval: options.heartbeatMs, pingTimeout: options.heartbeatMs }),
  });
  io.on("connection", (socket) => {
    socket.on(ECHO_METHOD, (params: unknown, ack: (result: unknown) => void) => ack(params));
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, resolve);
  });
  return {
    port: (http.address() as AddressInfo).port,
    broadcast: (data: BenchData) => {
      io.emit("msg", data);
    },
    connections: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}
