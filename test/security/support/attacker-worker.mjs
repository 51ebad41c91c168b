// The attacker of resource-limits.test.ts, on a thread of its own: parsing thousands of
// answers here would otherwise block the event loop the server and the bystander share,
// and its objects would count in the server's heap.
import { parentPort } from "node:worker_threads";
import { WebSocket } from "ws";

/** Open connections by name: `{ ws, messages, waiters }`. */
const peers = new Map();

function connect({ url, localAddress, clientId }) {
  const ws = new WebSocket(`${url}?client_id=${clientId}&version=1&role=test`, "lifeline.v1", {
    localAddress,
  });
  const peer = { ws, messages: [], waiters: new Set() };
  const closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  const outcome = new Promise((resolve) => {
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString("utf8"));
      peer.messages.push(message);
      if (message.type === "hello") resolve({ kind: "open" });
      for (const waiter of [...peer.waiters]) waiter();
    });
    closed.then((code) => resolve({ kind: "closed", code }));
    ws.on("unexpected-response", (request, response) => {
      response.resume();
      request.destroy();
      resolve({
        kind: "refused",
        status: response.statusCode,
        retryAfter: response.headers["retry-after"],
      });
    });
    ws.on("error", () => {});
  });
  return { peer, outcome, closed };
}

/** Resolves once `count` messages from index `from` on satisfy `predicate`. */
function waitFor(peer, predicate, count, from = 0) {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let looked = from;
    const timer = setTimeout(() => {
      peer.waiters.delete(check);
      reject(new Error(`${seen} of ${count} awaited messages within 20 s`));
    }, 20_000);
    function check() {
      for (; looked < peer.messages.length; looked += 1) {
        if (predicate(peer.messages[looked])) seen += 1;
      }
      if (seen < count) return;
      clearTimeout(timer);
      peer.waiters.delete(check);
      resolve();
    }
    peer.waiters.add(check);
    check();
  });
}

/** `type`, `type:ok` or `type:error_code` of each message, counted. */
function summary(messages) {
  const counts = {};
  for (const m of messages) {
    const key =
      m.type === "response" ? (m.ok ? "response:ok" : `response:${m.error?.code}`) : m.type;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const operations = {
  async open({ name, ...target }) {
    const { peer, outcome } = connect(target);
    const result = await outcome;
    if (result.kind === "open") peers.set(name, peer);
    return result;
  },

  /**
   * Sends `messages`: with `round`, in rounds of that many, each once every message of the
   * previous one was answered (`subscribed`, `response`: whatever carries its `id`); without,
   * all at once; with `everyMs` too, a round starts no sooner than that after the previous
   * one (a fixed rate, to stay within the server's message rate limit). Then a ping, whose
   * pong follows every answer given synchronously. Returns the answers' summary.
   */
  async send({ name, messages, round, everyMs }) {
    const peer = peers.get(name);
    const from = peer.messages.length;
    const answered = (m) => typeof m.id === "string";
    const size = round ?? messages.length;
    for (let at = 0; at < messages.length; ) {
      const started = performance.now();
      const end = Math.min(messages.length, at + size);
      const roundFrom = peer.messages.length;
      const expected = end - at;
      for (; at < end; at += 1) peer.ws.send(JSON.stringify(messages[at]));
      if (round !== undefined) await waitFor(peer, answered, expected, roundFrom);
      const wait = (everyMs ?? 0) - (performance.now() - started);
      if (at < messages.length && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const pingFrom = peer.messages.length;
    peer.ws.send('{"type":"ping"}');
    await waitFor(peer, (m) => m.type === "pong", 1, pingFrom);
    return summary(peer.messages.slice(from).filter((m) => m.type !== "pong"));
  },

  /**
   * Opens `attempts` connections one after another, closing each admitted one (and, with
   * `awaitClose`, waiting for its close) before the next.
   */
  async loop({ url, localAddress, clientIds, awaitClose }) {
    const started = performance.now();
    const result = { admitted: 0, refused: [], closed: [] };
    for (const clientId of clientIds) {
      const { peer, outcome, closed } = connect({ url, localAddress, clientId });
      const got = await outcome;
      if (got.kind === "open") {
        result.admitted += 1;
        peer.ws.terminate();
        if (awaitClose) await closed;
      } else if (got.kind === "refused") {
        result.refused.push({ status: got.status, retryAfter: got.retryAfter });
      } else {
        result.closed.push(got.code);
      }
    }
    return { ...result, elapsedMs: performance.now() - started };
  },

  async closeAll() {
    for (const peer of peers.values()) peer.ws.terminate();
    peers.clear();
    return null;
  },
};

parentPort.on("message", ({ id, op, args }) => {
  operations[op](args).then(
    (result) => parentPort.postMessage({ id, result }),
    (error) => parentPort.postMessage({ id, error: String(error?.stack ?? error) }),
  );
});
