// The broker interface is defined in @lifeline/protocol (see its broker.ts) so that broker
// implementations such as @lifeline/redis need not depend on the server package.
export type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  BrokerPresence,
  ControlChannel,
  ControlCommand,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  InboxAddress,
  LogEntry,
  PresenceChange,
  PresenceEntry,
  PresenceListener,
  PresenceWatch,
  SessionDirectory,
  SessionRecord,
  SessionTarget,
  TopicHead,
} from "@lifeline/protocol";
