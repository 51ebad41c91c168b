import { CloseCode } from "@lifeline/protocol";
import { describeError } from "./sse-wire.js";

/** How a post went wrong: the close code the connection ends with, and why. */
export interface PostFailure {
  readonly code: number;
  readonly message: string;
}

export interface SsePostsOptions {
  readonly fetch: typeof fetch;
  readonly credentials: { readonly credentials?: "include" };
  readonly maxBodyBytes: number;
  readonly maxBatchMessages: number;
  readonly maxQueuedChars: number;
  /** A post failed, or too much waited: the connection ends with `failure`. */
  readonly onFailure: (failure: PostFailure) => void;
}

/**
 * The client -> server half of the SSE wire (PROTOCOL.md, "HTTP fallback (SSE)", "Sending"):
 * messages queued within one tick go in one `POST` body (a JSON array), and one post is in
 * flight at a time, so the server handles them in the order they were sent. Posting starts
 * once `start(url)` gives the address the server's `hello` made known.
 */
export class SsePosts {
  readonly #options: SsePostsOptions;
  readonly #queue: string[] = [];
  #queuedChars = 0;
  #url: string | undefined;
  #posting = false;
  #scheduled = false;
  #stopped = false;

  constructor(options: SsePostsOptions) {
    this.#options = options;
  }

  /** Characters waiting to be posted. */
  get bufferedAmount(): number {
    return this.#queuedChars;
  }

  /** Queues one JSON message; false (and `onFailure`) past the queue's bound. */
  push(message: string): boolean {
    if (this.#stopped) return false;
    this.#queue.push(message);
    this.#queuedChars += message.length;
    const max = this.#options.maxQueuedChars;
    if (this.#queuedChars > max) {
      this.#fail({
        code: CloseCode.Abnormal,
        message: `more than ${max} characters waited to be posted`,
      });
      return false;
    }
    this.#schedule();
    return true;
  }

  /** Posting may begin, to `url`. */
  start(url: string): void {
    this.#url = url;
    this.#schedule();
  }

  /** Drops what waits; a post in flight is left to finish unheard. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queuedChars = 0;
  }

  #fail(failure: PostFailure): void {
    if (this.#stopped) return;
    this.stop();
    this.#options.onFailure(failure);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Posts the next batch once the previous one was accepted: order holds across posts. */
  #pump(): void {
    const url = this.#url;
    if (this.#posting || this.#stopped || this.#queue.length === 0 || url === undefined) return;
    const { maxBatchMessages, maxBodyBytes } = this.#options;
    const batch = takeBatch(this.#queue, maxBatchMessages, maxBodyBytes);
    const chars = batch.reduce((sum, message) => sum + message.length, 0);
    this.#posting = true;
    void this.#post(url, `[${batch.join(",")}]`).then((failure) => {
      this.#posting = false;
      if (this.#stopped) return;
      if (failure !== undefined) {
        this.#fail(failure);
        return;
      }
      this.#queuedChars -= chars;
      this.#pump();
    });
  }

  async #post(url: string, body: string): Promise<PostFailure | undefined> {
    try {
      // `text/plain` keeps a cross-origin post a "simple request": no CORS preflight.
      const response = await this.#options.fetch(url, {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body,
        ...this.#options.credentials,
      });
      void response.body?.cancel().catch(() => {});
      if (response.ok) return undefined;
      // 413: the server dropped a body past its payload limit, as `ws` closes with 1009.
      const code = response.status === 413 ? CloseCode.MessageTooBig : CloseCode.Abnormal;
      return { code, message: `a post was answered with HTTP ${response.status}` };
    } catch (error) {
      return { code: CloseCode.Abnormal, message: `a post failed: ${describeError(error)}` };
    }
  }
}

/** Messages from the front of `queue` that fit one body; at least one. */
function takeBatch(queue: string[], maxMessages: number, maxBytes: number): string[] {
  // Two brackets, and a comma between messages.
  let bytes = 2;
  let count = 0;
  while (count < queue.length && count < maxMessages) {
    const size = utf8Length(queue[count] as string) + (count === 0 ? 0 : 1);
    if (count > 0 && bytes + size > maxBytes) break;
    bytes += size;
    count += 1;
  }
  return queue.splice(0, count);
}

/** The UTF-8 size of `text` without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: two UTF-16 units, four bytes.
      bytes += 2;
      i += 1;
    } else bytes += 2;
  }
  return bytes;
}
