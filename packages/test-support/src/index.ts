export { type Appender, InjectedAppendFault, withAppendFaults } from "./append-faults.js";
export {
  type Browser,
  CHROMIUM_ARGS,
  chromiumAvailability,
  chromiumPath,
  type LaunchOptions,
  launchChromium,
} from "./chromium.js";
export { type BrowserBundle, browserBundle, noEvalRealm } from "./csp.js";
export { type ExampleApp, type ExampleAppTest, testExampleApp } from "./example-app.js";
export { type ExamplePages, type Fetched, fetchExamplePages } from "./example-pages.js";
export { createFakeClock, type FakeClock } from "./fake-clock.js";
export { captureLogs, type LogCapture } from "./logs.js";
export { PACK_PROTOCOLS, packCodec, plainBytes } from "./msgpack-codec.js";
export { type PageServer, servePage } from "./page-server.js";
export { freePort } from "./ports.js";
export {
  type PlacedPublish,
  type PublishOrderRig,
  publishOrderProblems,
  publishOrderProperty,
} from "./publish-order.js";
export {
  type ClusterNodeProcess,
  type RedisCluster,
  type RedisClusterOptions,
  redisClusterAvailability,
  startRedisCluster,
} from "./redis-cluster.js";
export {
  type RedisProcess,
  redisSentinelAvailability,
  type SentinelGroup,
  type SentinelGroupOptions,
  startSentinelGroup,
} from "./redis-sentinel.js";
export {
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
} from "./redis-server.js";
export { type RoundTrip, type RoundTripClient, roundTrip } from "./round-trip.js";
export { type ClosableServer, QUICK_CLOSE, startServer, type TestServer } from "./server.js";
export { type Health, type SettableHealth, withSettableHealth } from "./settable-health.js";
export {
  connectSse,
  type HttpAnswer,
  httpCall,
  httpUrl,
  openSse,
  type SseSession,
  type SseTestClient,
  type StreamEnd,
} from "./sse-client.js";
export { type Availability, skipWithout } from "./system.js";
export type { ClientEnd, TestClient } from "./test-client.js";
export { startUpgradeRefusingProxy, type UpgradeRefusingProxy } from "./upgrade-refusing-proxy.js";
export {
  connectOver,
  handshakeOutcome,
  type OpenedClient,
  openOver,
  sseTestClient,
  TEST_WIRE_ENV,
  TEST_WIRES,
  type TestWire,
  testWire,
  type WireConnectOptions,
} from "./wire-client.js";
export {
  type Countdown,
  countdown,
  createDisposer,
  type Deferred,
  type Disposer,
  deferred,
  within,
} from "./within.js";
export {
  type ClientCodec,
  connect,
  type Message,
  ofType,
  openClient,
  upgradeStatus,
  type WsTestClient,
  wsUrl,
} from "./ws-client.js";
