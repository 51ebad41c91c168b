/**
 * Lifeline's HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") shaped like the part of a
 * `ws` WebSocket the load process uses, so every scenario loop drives it unchanged: the
 * event stream's `data:` events are `message`s, and `send` posts (what was sent within one
 * tick goes in one array body, posts one at a time, as a client would batch them).
 */
import { EventEmitter } from "node:events";
import { Agent, type ClientRequest, request } from "node:http";
import type { Socket } from "node:net";
import { SseEventSplitter } from "./sse-events.js";

/** Posts reuse keep-alive connections, as a browser's would. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export class SseSocket extends EventEmitter {
  /** 0 connecting, 1 open (hello received), 3 closed: `ws`'s values. */
  readyState = 0;
  private readonly streamRequest: ClientRequest;
  private sendUrl: string | undefined;
  private queued: string[] = [];
  private posting = false;
  private stream: Socket | undefined;

  constructor(url: string) {
    super();
    // One connection per stream, outside the pool: a stream holds its socket for good.
    this.streamRequest = request(url, { agent: false, headers: { Accept: "text/event-stream" } });
    this.streamRequest.on("error", (error) => this.emit("error", error));
    this.streamRequest.on("response", (response) => {
      if (response.statusCode !== 200) {
        process.stderr.write(`load: the stream answered ${response.statusCode}\n`);
      }
      this.stream = response.socket;
      const events = new SseEventSplitter({
        data: (json) => this.event(json, url),
        close: (code, reason) => this.closed(code, reason),
      });
      response.on("data", (chunk: Buffer) => events.push(chunk));
      response.on("close", () => this.closed());
    });
    this.streamRequest.end();
  }

  private event(data: Buffer, url: string): void {
    if (this.sendUrl === undefined) {
      const hello = JSON.parse(data.toString()) as { connection_id: string; sse_key: string };
      const base = new URL(url);
      base.pathname = `${base.pathname}/send`;
      base.search = `connection_id=${encodeURIComponent(hello.connection_id)}&key=${hello.sse_key}`;
      this.sendUrl = base.toString();
      this.readyState = 1;
      this.emit("open");
    }
    this.emit("message", data, false);
  }

  send(text: string): void {
    this.queued.push(text);
    if (this.queued.length === 1 && !this.posting) queueMicrotask(() => this.post());
  }

  private post(): void {
    if (this.posting || this.queued.length === 0 || this.sendUrl === undefined) return;
    const body = `[${this.queued.join(",")}]`;
    this.queued = [];
    this.posting = true;
    const req = request(this.sendUrl, { method: "POST", agent }, (response) => {
      response.resume();
      response.on("end", () => {
        this.posting = false;
        this.post();
      });
    });
    req.on("error", () => {
      this.posting = false;
    });
    req.end(body);
  }

  terminate(): void {
    this.streamRequest.destroy();
  }

  close(): void {
    this.terminate();
  }

  /** What the stream's connection has read (the load process's bytes-on-the-wire figure). */
  get bytesRead(): number {
    return this.stream?.bytesRead ?? 0;
  }

  /** A stream that ends without a close event is what 1006 is on a WebSocket. */
  private closed(code = 1006, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit("close", code, Buffer.from(reason));
  }
}
