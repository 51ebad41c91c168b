import { type ParseArgsConfig, parseArgs } from "node:util";
import type { CodecName, TransportName } from "@lifeline/client";
import { ClientIdPattern } from "@lifeline/protocol";
import { usageError } from "./errors.js";

export const COMMANDS = ["tail", "request", "publish", "status", "monitor"] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Options every command takes. */
export interface CommonOptions {
  /** Sent as the `token` query parameter. */
  readonly token?: string;
  readonly clientId?: string;
  /** Extra HTTP headers on the WebSocket upgrade, the SSE requests and `status`'s `/health`. */
  readonly headers: Readonly<Record<string, string>>;
  /** `--transport`: the wires allowed, preferred first; absent means the client's default. */
  readonly transports?: readonly TransportName[];
  /** `--codec`: the encoding asked for; absent means the client's default (JSON). */
  readonly codec?: CodecName;
  /** No connection events on stderr; errors still print. */
  readonly quiet: boolean;
  /** Stack traces and the client's debug log on stderr. */
  readonly debug: boolean;
}

export type Invocation =
  | { readonly kind: "help"; readonly command?: CommandName }
  | { readonly kind: "version" }
  | {
      readonly kind: "run";
      readonly command: CommandName;
      readonly common: CommonOptions;
      readonly positionals: readonly string[];
      readonly values: Readonly<Record<string, string | boolean | undefined>>;
    };

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

const common: OptionSpec = {
  token: { type: "string" },
  "client-id": { type: "string" },
  header: { type: "string", multiple: true },
  transport: { type: "string" },
  codec: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Each command's own options and how many positionals it takes. */
const commands: Record<
  CommandName,
  {
    readonly options: OptionSpec;
    readonly arguments: string;
    readonly min: number;
    readonly max: number;
  }
> = {
  tail: {
    options: {
      json: { type: "boolean" },
      count: { type: "string", short: "n" },
      since: { type: "string" },
      rewind: { type: "string" },
    },
    arguments: "<url> <topic...>",
    min: 2,
    max: Number.POSITIVE_INFINITY,
  },
  request: {
    options: { timeout: { type: "string" } },
    arguments: "<url> <method> [params-json]",
    min: 2,
    max: 3,
  },
  publish: {
    options: { timeout: { type: "string" } },
    arguments: "<url> <topic> <data-json>",
    min: 3,
    max: 3,
  },
  status: { options: { timeout: { type: "string" } }, arguments: "<url>", min: 1, max: 1 },
  monitor: { options: {}, arguments: "<url> [topic...]", min: 1, max: Number.POSITIVE_INFINITY },
};

const USAGE_HINT = "see lifeline --help";

function isCommand(word: string | undefined): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word ?? "");
}

/** Splits `process.argv.slice(2)`; throws a usage error (exit 64) for anything malformed. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = rest[0];
    return isCommand(topic) ? { kind: "help", command: topic } : { kind: "help" };
  }
  if (first === "--version" || first === "-v") return { kind: "version" };
  if (!isCommand(first)) {
    throw usageError(`unknown command "${first}": expected one of ${COMMANDS.join(", ")}`);
  }
  const spec = commands[first];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...common, ...spec.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs's first sentence says it ("Unknown option '--x'."); the rest is advice.
    const message = error instanceof Error ? /^.*?\.(?=\s|$)/.exec(error.message)?.[0] : undefined;
    throw usageError(`${first}: ${message ?? String(error)} (${USAGE_HINT})`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help === true) return { kind: "help", command: first };
  const positionals = parsed.positionals;
  if (positionals.length < spec.min || positionals.length > spec.max) {
    const got = positionals.length === 1 ? "1 argument" : `${positionals.length} arguments`;
    throw usageError(`${first} expects ${spec.arguments}, got ${got} (${USAGE_HINT})`);
  }
  const { token, "client-id": clientId, header, transport, codec, quiet, debug, ...more } = values;
  const { help: _help, ...own } = more;
  return {
    kind: "run",
    command: first,
    common: {
      ...(typeof token === "string" ? { token } : {}),
      ...(clientId === undefined ? {} : { clientId: parseClientId(clientId) }),
      headers: parseHeaders(Array.isArray(header) ? header : []),
      ...(transport === undefined ? {} : { transports: parseTransports(transport) }),
      ...(codec === undefined ? {} : { codec: parseCodec(codec) }),
      quiet: quiet === true,
      debug: debug === true,
    },
    positionals,
    values: own as Record<string, string | boolean | undefined>,
  };
}

/** `--client-id`, checked here so a bad one is a usage error, not a failed command. */
export function parseClientId(value: string | boolean | string[]): string {
  if (typeof value === "string" && new RegExp(ClientIdPattern).test(value)) return value;
  throw usageError(`--client-id must match ${ClientIdPattern}, got "${String(value)}"`);
}

const TRANSPORTS: readonly TransportName[] = ["websocket", "sse"];
const CODECS: readonly CodecName[] = ["json", "msgpack"];

/**
 * `--transport websocket`, `--transport sse`, or a comma-separated list in order of
 * preference (`websocket,sse`, the client's default: SSE when WebSocket does not get through).
 */
export function parseTransports(value: string | boolean | string[]): TransportName[] {
  const names = typeof value === "string" ? value.split(",").map((name) => name.trim()) : [];
  const valid = names.length > 0 && names.every((name) => TRANSPORTS.includes(name as never));
  if (!valid || new Set(names).size !== names.length) {
    throw usageError(
      `--transport expects websocket, sse or websocket,sse (preferred first), got "${String(value)}"`,
    );
  }
  return names as TransportName[];
}

/** `--codec json` or `--codec msgpack`. */
export function parseCodec(value: string | boolean | string[]): CodecName {
  if (typeof value === "string" && CODECS.includes(value as never)) return value as CodecName;
  throw usageError(`--codec expects json or msgpack, got "${String(value)}"`);
}

/** `--header "Name: value"`, repeatable. */
export function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw usageError(`--header expects "Name: value", got "${line}"`);
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A JSON command-line argument, e.g. `params-json`; a usage error names the argument. */
export function parseJsonArgument(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw usageError(`<${name}> must be JSON, got ${JSON.stringify(text)}: ${detail}`);
  }
}

/** A whole number of at least `min` from an option such as `--timeout 5000`. */
export function parseCount(
  option: string,
  value: string | boolean | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min) {
    throw usageError(`--${option} expects a whole number >= ${min}, got "${String(value)}"`);
  }
  return number;
}

/** `--since 41:mx75x2iz-044c343c`, the `offset:epoch` that `tail` prints for each message. */
export function parseResumePoint(
  option: string,
  value: string | boolean | undefined,
): { readonly offset: number; readonly epoch: string } | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? /^(\d+):(\S+)$/.exec(value) : null;
  const offset = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(offset)) {
    throw usageError(
      `--${option} expects offset:epoch as tail prints them (e.g. 41:mx75x2iz-044c343c), got "${String(value)}"`,
    );
  }
  return { offset, epoch: match[2]! };
}
