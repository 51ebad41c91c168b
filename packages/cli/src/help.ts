import type { CommandName } from "./args.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";

const COMMON = `Common options:
  --token <token>         credential, sent as the token query parameter
  --client-id <id>        client id (default: cli-<random>)
  --header "Name: value"  extra header on the WebSocket upgrade and SSE requests
                          (repeatable)
  --transport <list>      websocket, sse, or websocket,sse (default: WebSocket, SSE
                          when WebSocket does not get through)
  --codec <json|msgpack>  encoding to ask for (default json; the server decides)
  -q, --quiet             no connection events on stderr
  --debug                 stack traces and the client's debug log on stderr
  -h, --help              this help`;

const URL_NOTE = `<url> is ws://, wss://, http:// or https://; http(s) maps to ws(s), and a URL
without a path gets /ws: http://localhost:8080 means ws://localhost:8080/ws.`;

const commands: Record<CommandName, string> = {
  tail: `lifeline tail <url> <topic...> [--since offset:epoch | --rewind N] [--count N] [--json]

Prints every message of the topics, in order, once each, and keeps going across
reconnects and server restarts (it resumes from the last offset it printed).
Connection events and gaps (history lost, a new epoch) go to stderr.

  --since <offset:epoch>  start after this position (as tail prints it) instead of
                          at the live head; a gap says what the server no longer has
  --rewind <N>            start with the last N retained messages
  -n, --count <N>         exit 0 after N messages
  --json                  one line per message on stdout: {"topic","offset","epoch","data"}`,
  request: `lifeline request <url> <method> [params-json] [--timeout ms]

Calls a server method and prints its result as JSON. A failed response prints its
code and message on stderr and exits 1.

  --timeout <ms>    wait this long for the connection and the response (default 10000)`,
  publish: `lifeline publish <url> <topic> <data-json> [--timeout ms]

Publishes one message and prints the server's ack {"topic","offset","epoch"}. The
server must allow client publishes to the topic (its contract or authorize hook).

  --timeout <ms>    wait this long for the connection and the ack (default 10000)`,
  status: `lifeline status <url> [--timeout ms]

Connects, prints the server's hello (connection id, features, heartbeat) and its
GET /health, and exits 0 when the server reports itself healthy.

  --timeout <ms>    wait this long for the connection and /health (default 10000)`,
  monitor: `lifeline monitor <url> [topic...]

A full-screen view of one connection: ● open, ◐ connecting/reconnecting/degraded,
○ closed/failed, the attempt and the countdown to the next try, and per topic the
messages per second, last offset, gaps; below, the latest events. Keys: q quit,
r reconnect now, p pause the screen. When stdout is not a terminal it prints the
events as lines instead.`,
};

export function helpText(command?: CommandName): string {
  if (command) return `${commands[command]}\n\n${COMMON}\n\n${URL_NOTE}\n\n${EXIT_CODES_HELP}\n`;
  return `lifeline: a terminal client for Lifeline servers

Usage:
  lifeline tail <url> <topic...> [--since offset:epoch | --rewind N] [--count N] [--json]
  lifeline request <url> <method> [params-json] [--timeout ms]
  lifeline publish <url> <topic> <data-json> [--timeout ms]
  lifeline status <url> [--timeout ms]
  lifeline monitor <url> [topic...]
  lifeline <command> --help
  lifeline --version

${COMMON}

${URL_NOTE}

${EXIT_CODES_HELP}
`;
}
