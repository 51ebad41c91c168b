/**
 * Lifeline's HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") shaped like the part of a
 * `ws` WebSocket the load process uses, so every scenario loop drives it unchanged: the
 * event stream's `data:` events are `message`s, and `send` posts (what was sent within one
 * tick goes in one array body, posts one at a time, as a client would batch them).
 */
import { EventEmitter } from "node:events";
import { Agent, type ClientRequest, request } from "node:http";

const BLANK_LINE = Buffer.from("\n\n");
const DATA = Buffer.from("data: ");
const D = DATA[0];

/** Posts reuse keep-alive connections, as a browser's would. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export class SseSocket extends EventEmitter {
  /** 0 connecting, 1 open (hello received), 3 closed: `ws`'s values. */
  readyState = 0;
  private readonly streamRequest: ClientRequest;
  private sendUrl: string | undefined;
  private queued: string[] = [];
  private posting = false;

  constructor(url: string) {
    super();
    // One connection per stream, outside the pool: a stream holds its socket for good.
    this.streamRequest = request(url, { agent: false, headers: { Accept: "text/event-stream" } });
    this.streamRequest.on("error", (error) => this.emit("error", error));
    this.streamRequest.on("response", (response) => {
      if (response.statusCode !== 200) {
        process.stderr.write(`load: the stream answered ${response.statusCode}\n`);
      }
      // Events are cut out of the bytes as they come, without decoding them to strings:
      // the load side should cost as little per message as `ws`'s own parser does.
      let pending: Buffer | undefined;
      response.on("data", (chunk: Buffer) => {
        let buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        for (let end = buffer.indexOf(BLANK_LINE); end >= 0; end = buffer.indexOf(BLANK_LINE)) {
          // Lifeline's events are one `data: ` line, comments `:`, the close event `event:`.
          if (buffer[0] === D) this.event(buffer.subarray(DATA.length, end), url);
          buffer = buffer.subarray(end + BLANK_LINE.length);
        }
        pending = buffer.length === 0 ? undefined : buffer;
      });
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

  private closed(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit("close", 1006, Buffer.alloc(0));
  }
}
