import type { ClientMessage, ServerMessage } from "../src/index.js";

/** One valid example of every client message, each optional field present somewhere. */
export const validClientMessages: readonly ClientMessage[] = [
  { type: "subscribe", id: "s-1", topic: "telescope/seestar-001/status" },
  { type: "subscribe", id: "s-2", topic: "a", since: { offset: 41, epoch: "e-7f3a" } },
  { type: "subscribe", id: "s-3", topic: "a", rewind: 1 },
  { type: "history", id: "h-1", topic: "a", limit: 20, direction: "backward" },
  {
    type: "history",
    id: "h-2",
    topic: "a",
    limit: 100,
    direction: "forward",
    since: { offset: 41, epoch: "e-7f3a" },
  },
  { type: "unsubscribe", id: "u-1", topic: "telescope/seestar-001/status" },
  { type: "publish", id: "p-1", topic: "chat/room:1", data: { text: "hi", n: [1, 2] } },
  { type: "publish", id: "p-2", topic: "chat/room:1", data: null },
  { type: "request", id: "r-1", method: "telescope.slew" },
  {
    type: "request",
    id: "r-2",
    method: "telescope.slew",
    params: { ra: 1.5, dec: -2 },
    timeout_ms: 5000,
  },
  { type: "refresh", id: "t-1", token: "eyJhbGciOi.payload.sig" },
  { type: "ping" },
  { type: "pong" },
];

/** One valid example of every server message. */
export const validServerMessages: readonly ServerMessage[] = [
  {
    type: "hello",
    server_time: "2026-11-24T11:00:00.000Z",
    accepted_version: 1,
    features: ["resume", "publish"],
    request_id: "req-1",
    client_id: "tab-1",
    connection_id: "c-1",
    heartbeat_interval_ms: 25000,
  },
  {
    type: "subscribed",
    id: "s-1",
    topic: "a/b",
    offset: 42,
    epoch: "e-1",
    recovered: true,
    replayed: 1,
  },
  { type: "unsubscribed", id: "u-1", topic: "a/b" },
  { type: "token_expiring", expires_at: 1_764_000_060_000 },
  {
    type: "message",
    topic: "a/b",
    offset: 42,
    epoch: "e-1",
    data: [1, "x"],
    ts: 1_764_000_000_000,
  },
  { type: "response", id: "r-1", ok: true, result: { topic: "a/b", offset: 43, epoch: "e-1" } },
  { type: "response", id: "r-2", ok: true, result: null },
  { type: "response", id: "r-3", ok: false, error: { code: "timeout", message: "took too long" } },
  { type: "error", code: "invalid_message", message: "expected a JSON object, got null" },
  { type: "error", code: "unknown_type", message: 'unknown message type "x"', id: "x-1" },
  { type: "shutdown", reason: "deploy", reconnect_after_ms: 1500 },
  { type: "ping" },
  { type: "pong" },
];

export const longString = (length: number): string => "x".repeat(length);
