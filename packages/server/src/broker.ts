// The broker interface is defined in @lifeline/protocol (see its broker.ts) so that broker
// implementations such as @lifeline/redis need not depend on the server package.
export type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  ConflateEntry,
  ControlChannel,
  ControlCommand,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  InboxAddress,
  LatestQuery,
  LatestRead,
  LogEntry,
  SessionDirectory,
  SessionRecord,
  SessionTarget,
  TopicHead,
} from "@lifeline/protocol";
