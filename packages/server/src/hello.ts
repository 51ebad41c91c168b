import { type HelloMessage, PROTOCOL_VERSION } from "@lifeline/protocol";

export interface HelloFields {
  readonly clientId: string;
  readonly connectionId: string;
  readonly requestId: string;
  readonly features: readonly string[];
  readonly heartbeatIntervalMs: number;
  readonly nowMs: number;
}

/** The first message of every accepted connection (DESIGN.md, server -> client). */
export function buildHello(fields: HelloFields): HelloMessage {
  return {
    type: "hello",
    server_time: new Date(fields.nowMs).toISOString(),
    accepted_version: PROTOCOL_VERSION,
    features: [...fields.features],
    request_id: fields.requestId,
    client_id: fields.clientId,
    connection_id: fields.connectionId,
    heartbeat_interval_ms: fields.heartbeatIntervalMs,
  };
}
