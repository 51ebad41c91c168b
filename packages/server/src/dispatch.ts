import {
  type ClientMessage,
  CloseCode,
  containsBinary,
  ErrorCode,
  type HistoryMessage,
  INBOX_TOPIC,
  isReservedTopic,
  Limits,
  MSGPACK_SUBPROTOCOL,
  type ParseResult,
  type PresenceMessage,
  type PublishMessage,
  parseClientMessage,
  type RefreshMessage,
  type RequestMessage,
  type SubscribeMessage,
  type UnsubscribeMessage,
} from "@lifeline/protocol";
import { parseClientMessagePack } from "@lifeline/protocol/msgpack";
import { conflateEntry } from "./conflation.js";
import type { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import type { Credentials } from "./credentials.js";
import { internalErrorBody, LifelineServerError, ServerErrorCode } from "./errors.js";
import { readHistoryPage } from "./history.js";
import { createLimitReporter, Limit } from "./limits.js";
import type { TopicAction } from "./options.js";
import type { ServerPresence } from "./presence/presence.js";
import { PublishLanes, type PublishStep, type RetryableRefusal } from "./publish-lanes.js";
import { RequestScope, startRequest } from "./rpc.js";
import { bump } from "./stats.js";
import { isAllowed } from "./topic-access.js";
import type { SubscribeOutcome } from "./topics.js";
import { prepareMessage } from "./transport/index.js";

const rateLimitText = "rate limit exceeded; slow down";
const refreshUnknownText = 'this server does not take "refresh" (not in hello.features)';
const rateLimited: RetryableRefusal = { code: ErrorCode.RateLimited };
const overloaded: RetryableRefusal = { code: ErrorCode.Overloaded };

/**
 * The heartbeat answer as a JSON client sends it (PROTOCOL.md, "Liveness"): the frame an
 * idle connection sends most, recognised by its bytes so it skips decoding and validation.
 * Any other spelling of a pong takes the ordinary path and means the same.
 */
const pongText = Buffer.from('{"type":"pong"}');
const pongParsed: ParseResult<ClientMessage> = { ok: true, message: { type: "pong" } };

function refusedBehindText(topic: string): string {
  return `an earlier publish to "${topic}" was refused and must be sent again first`;
}

/** A frame of the other codec than the one the subprotocol agreed (PROTOCOL.md, "MessagePack wire"). */
const binaryOnJson: ParseResult<ClientMessage> = {
  ok: false,
  error: {
    code: ErrorCode.InvalidMessage,
    message: `expected a JSON text frame, got a binary frame (MessagePack needs the subprotocol ${MSGPACK_SUBPROTOCOL})`,
    path: "",
  },
};
const textOnMsgpack: ParseResult<ClientMessage> = {
  ok: false,
  error: {
    code: ErrorCode.InvalidMessage,
    message: `expected a MessagePack binary frame (subprotocol ${MSGPACK_SUBPROTOCOL}), got a text frame`,
    path: "",
  },
};

/**
 * Handles every frame of an accepted connection (PROTOCOL.md, "Messages", "Errors and
 * invalid input" and "Limits"): rate limit, parsing, answers to bad input (`error`, or a failed `response` when
 * the message had a usable id; 1008 after repeated violations), and the five message types.
 */
export function createDispatcher<Principal>(
  ctx: ServerContext<Principal>,
  credentials: Credentials,
): (connection: Connection, data: Buffer, isBinary: boolean) => void {
  const { opts, logger, counters, topics, broker, methods, presence } = ctx;
  const { clock, limits } = opts;
  const parseOptions = { maxChars: limits.maxPayload };
  const packOptions = { maxBytes: limits.maxPayload };

  /** Decodes a frame in the codec of the connection's wire; the same validators either way. */
  function parse(
    connection: Connection,
    data: Buffer,
    isBinary: boolean,
  ): ParseResult<ClientMessage> {
    if (connection.transport.codec === "msgpack") {
      return isBinary ? parseClientMessagePack(data, packOptions) : textOnMsgpack;
    }
    if (isBinary) return binaryOnJson;
    if (data.length === pongText.length && data.equals(pongText)) return pongParsed;
    return parseClientMessage(data.toString("utf8"), parseOptions);
  }
  const limitReporter = createLimitReporter(counters, logger);

  /**
   * Runs inside ws's receive path, where a throw would crash the process: a failure in
   * handling one message is logged and answered `internal`, and the connection goes on.
   */
  function onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    try {
      handle(connection, data, isBinary);
    } catch (error) {
      internalFailure(connection, undefined, error);
    }
  }

  function internalFailure(connection: Connection, id: string | undefined, error: unknown): void {
    logger.error({ err: error, connection_id: connection.id, id }, "message handling failed");
    try {
      if (id === undefined) {
        bump(counters.errors, internalErrorBody.code);
        connection.send({ type: "error", ...internalErrorBody });
      } else {
        answerError(connection, id, internalErrorBody.code, internalErrorBody.message);
      }
    } catch {
      // Nothing more can be told to this client.
    }
  }

  function handle(connection: Connection, data: Buffer, isBinary: boolean): void {
    const now = clock.now();
    connection.lastActivityAt = now;
    connection.counters.messagesIn += 1;
    connection.counters.bytesIn += data.length;
    counters.bytesIn += data.length;
    if (connection.closing) return;
    const parsed = parse(connection, data, isBinary);
    if (!connection.takeToken(now)) {
      bump(counters.messagesIn, parsed.ok ? parsed.message.type : "invalid");
      if (parsed.ok && parsed.message.type === "publish") {
        refuseOverRate(connection, parsed.message);
        return;
      }
      const id = parsed.ok ? idOf(parsed.message) : parsed.error.id;
      reject(connection, id, ErrorCode.RateLimited, rateLimitText);
      return;
    }
    if (!parsed.ok) {
      bump(counters.messagesIn, "invalid");
      reject(connection, parsed.error.id, parsed.error.code, parsed.error.message);
      return;
    }
    const message = parsed.message;
    bump(counters.messagesIn, message.type);
    switch (message.type) {
      case "ping":
        connection.send({ type: "pong" });
        return;
      case "pong":
        connection.answersPings = true;
        return;
      case "subscribe":
      case "unsubscribe":
        // Chained so `subscribed`/`unsubscribed` keep the order they were asked in.
        connection.queueTopicOp(() =>
          (message.type === "subscribe"
            ? onSubscribe(connection, message)
            : onUnsubscribe(connection, message)
          ).catch((error: unknown) => internalFailure(connection, message.id, error)),
        );
        return;
      case "publish":
        submitPublish(connection, message, () => onPublish(connection, message));
        return;
      case "request":
        onRequest(connection, message);
        return;
      case "history":
        onHistory(connection, message).catch((error: unknown) =>
          internalFailure(connection, message.id, error),
        );
        return;
      case "presence":
        onPresence(connection, message).catch((error: unknown) =>
          internalFailure(connection, message.id, error),
        );
        return;
      case "refresh":
        if (!opts.credentials.refresh) {
          reject(connection, message.id, ErrorCode.UnknownType, refreshUnknownText);
          return;
        }
        // In line with subscribes, so a re-authorisation never races one.
        connection.queueTopicOp(() =>
          onRefresh(connection, message).catch((error: unknown) =>
            internalFailure(connection, message.id, error),
          ),
        );
        return;
    }
  }

  function reject(
    connection: Connection,
    id: string | undefined,
    code: string,
    message: string,
  ): void {
    bump(counters.errors, code);
    connection.counters.errors += 1;
    if (connection.recordViolation(clock.now())) {
      logger.warn(
        { connection_id: connection.id, client_id: connection.clientId, code },
        "closing connection after repeated invalid or excess messages",
      );
      connection.close(CloseCode.PolicyViolation, "too many invalid or excess messages");
      return;
    }
    const text = message.slice(0, 1024);
    if (id === undefined) connection.send({ type: "error", code, message: text });
    else connection.send({ type: "response", id, ok: false, error: { code, message: text } });
  }

  /**
   * Sends `{"type":"response","id":..,"ok":true,"result":..}` with the envelope written
   * out rather than serialised from an object: it is built for every request. Identical
   * to `JSON.stringify` of the object; a result JSON leaves out (a function, a symbol, a
   * `toJSON` returning undefined) goes through the object, which drops it the same way.
   */
  function answerResult(connection: Connection, id: string, result: unknown): void {
    if (connection.closing) return;
    if (connection.transport.codec !== "json" || containsBinary(result)) {
      // Encoded from the object: MessagePack keeps bytes, JSON turns them into base64.
      connection.send({ type: "response", id, ok: true, result });
      return;
    }
    const body = JSON.stringify(result);
    if (body === undefined) {
      connection.send({ type: "response", id, ok: true, result });
      return;
    }
    answerJson(connection, id, body);
  }

  /** The same with `result` already serialised (a presence answer shared by its askers). */
  function answerJson(connection: Connection, id: string, body: string): void {
    if (connection.closing) return;
    const text = `{"type":"response","id":${JSON.stringify(id)},"ok":true,"result":${body}}`;
    connection.sendPrepared(prepareMessage(text), "response");
  }

  function answerError(connection: Connection, id: string, code: string, message: string): void {
    bump(counters.errors, code);
    connection.send({ type: "response", id, ok: false, error: { code, message } });
  }

  /**
   * A connection's `@inbox` is its own and always readable; the names under `@inbox/` are
   * nobody's to name (PROTOCOL.md, "Direct messages"), whatever `authorize` would say.
   */
  const allowed = (connection: Connection, topic: string, action: TopicAction) => {
    if (isReservedTopic(topic))
      return Promise.resolve(topic === INBOX_TOPIC && action !== "publish");
    return isAllowed(opts, connection, topic, action);
  };

  /** The broker topic a name stands for: `@inbox` is the connection's own inbox. */
  const brokerTopic = (connection: Connection, topic: string): string =>
    topic === INBOX_TOPIC ? connection.inbox : topic;

  async function onRefresh(connection: Connection, message: RefreshMessage): Promise<void> {
    const answer = await credentials.refresh(connection, message);
    if (connection.closing) return;
    if (answer.ok) answerResult(connection, message.id, answer.result);
    else answerError(connection, message.id, answer.code, answer.message);
  }

  async function onSubscribe(connection: Connection, message: SubscribeMessage): Promise<void> {
    const { id, topic } = message;
    if (message.since === undefined && (message.rewind ?? 0) > limits.maxRewind) {
      const text = `"subscribe" expects "rewind" to be at most ${limits.maxRewind} (the messages this server retains), got ${message.rewind}`;
      answerError(connection, id, ErrorCode.InvalidMessage, text);
      return;
    }
    const held = connection.subscriptions;
    const source = brokerTopic(connection, topic);
    if (held.size >= limits.maxSubscriptionsPerConnection && !held.has(source)) {
      limitReporter.refused(Limit.SubscriptionsPerConnection, fieldsOf(connection), connection);
      const text = `a connection may hold ${limits.maxSubscriptionsPerConnection} subscriptions; unsubscribe from one first`;
      answerError(connection, id, ErrorCode.LimitExceeded, text);
      return;
    }
    try {
      if (!(await allowed(connection, topic, "subscribe"))) {
        answerError(connection, id, ErrorCode.Forbidden, `not allowed to subscribe to "${topic}"`);
        return;
      }
    } catch (error) {
      internalFailure(connection, id, error);
      return;
    }
    if (connection.closing) return;
    // A client's own inbox (an alias of a per-client topic) has no presence.
    const withPresence = source === topic && presence?.enabled(topic) === true;
    let mirror: Awaited<ReturnType<ServerPresence["prepareWatch"]>> | undefined;
    try {
      if (withPresence && message.presence === true) mirror = await presence.prepareWatch(topic);
      if (connection.closing) return;
      const start = { since: message.since, rewind: message.rewind, conflate: message.conflate };
      const alias = source === topic ? undefined : topic;
      const answer = (outcome: SubscribeOutcome) => {
        connection.send({ type: "subscribed", id, topic, ...outcome });
        if (withPresence) presence.subscribed(connection, topic, userOf(connection), mirror);
        mirror = undefined;
      };
      await topics.subscribe(connection, source, start, answer, alias);
    } catch (error) {
      // The broker could not read history or start fan-out (Redis unreachable, say), or
      // holds all the topics it may: a passing condition, so the answer is retryable and
      // the client subscribes again later.
      if (isTopicLimit(error)) {
        limitReporter.refused(Limit.Topics, { ...fieldsOf(connection), topic }, connection);
      } else {
        logger.error({ err: error, connection_id: connection.id, topic }, "subscribe failed");
      }
      const text = `subscribe to "${topic}" could not be served; retry later`;
      answerError(connection, id, ErrorCode.Overloaded, text);
    } finally {
      // Never became a watcher (closed, refused, or failed on the way).
      if (mirror) presence?.abandon(mirror);
    }
  }

  /** The member's `user`: its principal's identity, when the server authenticates. */
  function userOf(connection: Connection): string | undefined {
    if (!opts.authenticate) return undefined;
    return connection.identity.slice(0, Limits.userLength);
  }

  /** Who is subscribed to a topic, authorised like a subscribe (PROTOCOL.md, "Presence"). */
  async function onPresence(connection: Connection, message: PresenceMessage): Promise<void> {
    const { id, topic } = message;
    if (!presence?.enabled(topic) || isReservedTopic(topic)) {
      const text = `this server keeps no presence for "${topic}"`;
      answerError(connection, id, ErrorCode.Forbidden, text);
      return;
    }
    try {
      if (!(await allowed(connection, topic, "subscribe"))) {
        const text = `not allowed to see the presence of "${topic}"`;
        answerError(connection, id, ErrorCode.Forbidden, text);
        return;
      }
    } catch (error) {
      internalFailure(connection, id, error);
      return;
    }
    if (connection.closing) return;
    let state: string;
    try {
      state = await presence.query(topic);
    } catch (error) {
      logger.error({ err: error, connection_id: connection.id, topic }, "presence read failed");
      const text = `the presence of "${topic}" could not be read; retry later`;
      answerError(connection, id, ErrorCode.Overloaded, text);
      return;
    }
    answerJson(connection, id, state);
  }

  /** A page of retained messages, authorised like a subscribe (PROTOCOL.md, "History"). */
  async function onHistory(connection: Connection, message: HistoryMessage): Promise<void> {
    const { id, topic, limit } = message;
    if (limit > limits.maxHistoryPage) {
      const text = `"history" expects "limit" to be at most ${limits.maxHistoryPage}, got ${limit}; page with "next"`;
      answerError(connection, id, ErrorCode.InvalidMessage, text);
      return;
    }
    try {
      if (!(await allowed(connection, topic, "subscribe"))) {
        const text = `not allowed to read the history of "${topic}"`;
        answerError(connection, id, ErrorCode.Forbidden, text);
        return;
      }
    } catch (error) {
      internalFailure(connection, id, error);
      return;
    }
    if (connection.closing) return;
    let page: Awaited<ReturnType<typeof readHistoryPage>>;
    try {
      page = await readHistoryPage(broker, {
        topic: brokerTopic(connection, topic),
        since: message.since,
        limit,
        direction: message.direction,
      });
    } catch (error) {
      logger.error({ err: error, connection_id: connection.id, topic }, "history read failed");
      const text = `the history of "${topic}" could not be read; retry later`;
      answerError(connection, id, ErrorCode.Overloaded, text);
      return;
    }
    answerResult(connection, id, { ...page, topic });
  }

  async function onUnsubscribe(connection: Connection, message: UnsubscribeMessage): Promise<void> {
    const source = brokerTopic(connection, message.topic);
    if (source === message.topic && connection.subscriptions.has(source)) {
      presence?.unsubscribed(connection, message.topic, true);
    }
    topics.unsubscribe(connection, source);
    connection.send({ type: "unsubscribed", id: message.id, topic: message.topic });
  }

  /**
   * Publishes go through the connection's lane for their topic, so they are appended in the
   * order they arrived and none overtakes one refused for a passing reason (PROTOCOL.md,
   * "Publish order").
   */
  function submitPublish(connection: Connection, message: PublishMessage, step: PublishStep): void {
    connection.publishLanes ??= new PublishLanes();
    connection.publishLanes.submit(
      message.topic,
      message.id,
      () =>
        step().catch((error: unknown) => {
          internalFailure(connection, message.id, error);
          return undefined;
        }),
      (barrier) => {
        if (connection.closing) return;
        answerError(connection, message.id, barrier.code, refusedBehindText(message.topic));
      },
    );
  }

  /** Over the rate limit: refused in its lane's order, and the lane waits for its resend. */
  function refuseOverRate(connection: Connection, message: PublishMessage): void {
    submitPublish(connection, message, async () => {
      reject(connection, message.id, ErrorCode.RateLimited, rateLimitText);
      return rateLimited;
    });
  }

  async function onPublish(
    connection: Connection,
    message: PublishMessage,
  ): Promise<RetryableRefusal | undefined> {
    if (connection.closing) return undefined;
    const { id, topic } = message;
    try {
      if (!(await allowed(connection, topic, "publish"))) {
        answerError(connection, id, ErrorCode.Forbidden, `not allowed to publish to "${topic}"`);
        return;
      }
    } catch (error) {
      internalFailure(connection, id, error);
      return;
    }
    if (opts.contract) {
      const check = opts.contract.checkTopicData(topic, message.data);
      if (!check.ok) {
        const text = `"${topic}" data: ${check.issue.message}`;
        answerError(connection, id, ErrorCode.InvalidMessage, text);
        return;
      }
    }
    let result: Awaited<ReturnType<typeof broker.append>>;
    try {
      // Idempotent by (client_id, id) within the broker's dedupe window (PROTOCOL.md). The
      // principal's identity is part of the key, so someone who later connects with the same
      // client_id is never answered with another user's ack (and their message swallowed).
      const conflate = conflateEntry(opts.contract, topic, message.data);
      result = await broker.append(topic, message.data, {
        dedupeKey: JSON.stringify([connection.identity, connection.clientId, id]),
        ...(conflate ? { conflate } : {}),
      });
    } catch (error) {
      if (isTopicLimit(error)) {
        limitReporter.refused(Limit.Topics, { ...fieldsOf(connection), topic }, connection);
      } else {
        logger.error({ err: error, connection_id: connection.id, topic }, "publish failed");
      }
      answerError(connection, id, ErrorCode.Overloaded, "publish could not be stored; retry later");
      return overloaded;
    }
    connection.send({
      type: "response",
      id,
      ok: true,
      result: { topic, offset: result.offset, epoch: result.epoch },
    });
    return undefined;
  }

  function onRequest(connection: Connection, message: RequestMessage): void {
    if (connection.pendingRequests >= limits.maxPendingRequestsPerConnection) {
      limitReporter.refused(Limit.PendingRequestsPerConnection, fieldsOf(connection), connection);
      const text = `a connection may have ${limits.maxPendingRequestsPerConnection} requests pending; wait for an answer first`;
      answerError(connection, message.id, ErrorCode.RateLimited, text);
      return;
    }
    const scope = new RequestScope();
    let untrack: (() => void) | undefined;
    const handler = methods.get(message.method);
    const startedAt = performance.now();
    const pending = startRequest<Principal>(
      {
        handler,
        method: message.method,
        params: message.params,
        principal: connection.principal as Principal,
        clientId: connection.clientId,
        connectionId: connection.id,
        timeoutMs: Math.min(message.timeout_ms ?? limits.requestTimeoutMs, limits.requestTimeoutMs),
        clock,
        contract: opts.contract,
        scope,
        tracer: opts.tracer,
      },
      (outcome) => {
        untrack?.();
        // Unregistered names share one label: a client cannot grow the metric's series.
        ctx.metrics.observeRequest(
          handler === undefined ? "(unknown)" : message.method,
          outcome.ok ? "ok" : outcome.error.code,
          (performance.now() - startedAt) / 1000,
        );
        if (outcome.ok) {
          try {
            answerResult(connection, message.id, outcome.result);
          } catch (error) {
            // A result JSON cannot encode (a BigInt, a cycle) is the handler's bug.
            internalFailure(connection, message.id, error);
          }
          return;
        }
        if (outcome.cause !== undefined) {
          logger.error(
            {
              err: outcome.cause,
              connection_id: connection.id,
              method: message.method,
              id: message.id,
            },
            "method handler failed",
          );
        }
        answerError(connection, message.id, outcome.error.code, outcome.error.message);
      },
    );
    // Only a request still running needs aborting when its connection closes.
    if (pending) untrack = connection.track(scope);
  }

  return onMessage;
}

function fieldsOf(connection: Connection) {
  return {
    connection_id: connection.id,
    client_id: connection.clientId,
    remote_address: connection.remoteAddress,
  };
}

function isTopicLimit(error: unknown): boolean {
  return error instanceof LifelineServerError && error.code === ServerErrorCode.TopicLimit;
}

function idOf(message: ClientMessage): string | undefined {
  return "id" in message ? message.id : undefined;
}
