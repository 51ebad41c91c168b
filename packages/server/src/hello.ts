import { type HelloMessage, PROTOCOL_VERSION } from "@lifeline/protocol";

export interface HelloFields {
  readonly clientId: string;
  readonly connectionId: string;
  readonly requestId: string;
  readonly nowMs: number;
  /** The secret of an SSE connection's posts (PROTOCOL.md, "HTTP fallback (SSE)"). */
  readonly sseKey?: string | undefined;
}

export interface HelloSettings {
  readonly features: readonly string[];
  readonly heartbeatIntervalMs: number;
}

/** The first message of every accepted connection (PROTOCOL.md, "Accepted"). */
export function buildHello(settings: HelloSettings, fields: HelloFields): HelloMessage {
  return {
    type: "hello",
    server_time: new Date(fields.nowMs).toISOString(),
    accepted_version: PROTOCOL_VERSION,
    features: [...settings.features],
    request_id: fields.requestId,
    client_id: fields.clientId,
    connection_id: fields.connectionId,
    heartbeat_interval_ms: settings.heartbeatIntervalMs,
    ...(fields.sseKey === undefined ? {} : { sse_key: fields.sseKey }),
  };
}

/**
 * Encodes `hello` as JSON with the parts that never change serialised once per server:
 * every handshake sends one, and the benchmarks count server CPU per accepted connection.
 * Produces exactly `JSON.stringify(buildHello(settings, fields))`.
 */
export function createHelloEncoder(settings: HelloSettings): (fields: HelloFields) => string {
  const head = `{"type":"hello","server_time":`;
  const middle = `,"accepted_version":${PROTOCOL_VERSION},"features":${JSON.stringify(settings.features)},"request_id":`;
  const tail = `,"heartbeat_interval_ms":${JSON.stringify(settings.heartbeatIntervalMs)}`;
  // Connections accepted in the same millisecond share one formatted server_time.
  let lastMs = Number.NaN;
  let lastTime = "";
  return (fields) => {
    if (fields.nowMs !== lastMs) {
      lastMs = fields.nowMs;
      lastTime = new Date(fields.nowMs).toISOString();
    }
    return `${head}"${lastTime}"${middle}${JSON.stringify(fields.requestId)},"client_id":${JSON.stringify(fields.clientId)},"connection_id":${JSON.stringify(fields.connectionId)}${tail}${fields.sseKey === undefined ? "" : `,"sse_key":${JSON.stringify(fields.sseKey)}`}}`;
  };
}
