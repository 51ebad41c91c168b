import { Kind, type Static, type TSchema } from "@sinclair/typebox";
import { describeIssue } from "./codec.js";
import { INBOX_TOPIC } from "./constants.js";
import { type PayloadValidator, valueValidator } from "./payload-check.js";
import { isStandardSchema, type StandardSchemaV1 } from "./standard-schema.js";

export type { PayloadValidator } from "./payload-check.js";

/**
 * A payload schema: TypeBox, or any Standard Schema (zod 4, valibot, ArkType, ...). A
 * Standard Schema only checks: its transforms and defaults are not applied, so handlers
 * and subscribers see the data as it was sent, and its validation must be synchronous.
 */
export type PayloadSchema = TSchema | StandardSchemaV1;

/** A method's parameter and result schemas. */
export interface MethodSchema<
  P extends PayloadSchema = PayloadSchema,
  R extends PayloadSchema = PayloadSchema,
> {
  /** Schema of the request's params. */
  readonly params: P;
  /** Schema of the handler's result. */
  readonly result: R;
}

/**
 * Who may publish to a topic over a client connection (PROTOCOL.md, "Who may publish"):
 * `"server"` only the server's own `publish()`, `"clients"` any connected client, a list of
 * roles the clients whose connection `role` is in it. The role is what the client put in
 * its URL, so a role list restricts only as far as `authenticate` checks that role.
 */
export type PublishRule = "server" | "clients" | readonly string[];

/** A topic's payload schema with who may publish to it. */
export interface TopicSpec<T extends PayloadSchema = PayloadSchema> {
  /** Schema of the topic's data. */
  readonly schema: T;
  /**
   * Who may publish from a client connection; the server's own `publish()` always may.
   * @default "server": a topic is server-owned unless it says otherwise, so a forgotten
   *   rule leaves it closed rather than open to forgery
   */
  readonly publish?: PublishRule;
  /**
   * Conflate the topic (PROTOCOL.md, "Conflation"): the server keeps the latest message per
   * key, and a subscriber that falls behind or asks with `rewind` gets the latest message
   * of each key instead of every message, and is not closed as a slow consumer.
   * @default undefined: every message is delivered, a slow consumer is closed with 1013
   */
  readonly conflate?: ConflateRule;
}

/**
 * How a conflated topic's messages are keyed. `key` names a top-level property of the
 * message data whose value (a string, or a number written as a string) is the key; data
 * without it, and every message when `key` is omitted, share one key, so the topic keeps
 * only its latest message (a status topic per device). Messages sent with the server's
 * `publishDelta` are keyed by the key they were published with.
 */
export interface ConflateRule {
  /** @default undefined: one key for the whole topic */
  readonly key?: string;
}

/**
 * What an application declares once and shares between server and client.
 * Topic keys are names or patterns where a `*` stands for exactly one whole path segment
 * (`"telescope/*\/status"` matches `telescope/seestar-001/status`, not `telescope/a/b/status`).
 * When a topic matches an exact key and a pattern, the exact key wins; among patterns, the
 * first declared wins. A topic is a schema (server-owned: only the server publishes) or a
 * `TopicSpec` saying who else may publish.
 */
export interface ContractSpec {
  /** Topics by name or `*` pattern: a bare schema (only the server publishes) or a `TopicSpec`. */
  readonly topics?: Readonly<Record<string, PayloadSchema | TopicSpec>>;
  /** Methods by name, each with its params and result schemas. */
  readonly methods?: Readonly<Record<string, MethodSchema>>;
  /**
   * The payload of direct messages (`server.sendTo`, delivered on the `@inbox` topic,
   * PROTOCOL.md "Direct messages"). Without it, direct messages are `unknown` and unchecked.
   */
  readonly direct?: PayloadSchema;
}

/** `"a/*\/b"` -> `` `a/${string}/b` ``: the topic names a pattern key accepts. */
export type TopicPattern<K extends string> = K extends `${infer Head}*${infer Tail}`
  ? `${Head}${string}${TopicPattern<Tail>}`
  : K;

type TopicsOf<S extends ContractSpec> =
  S["topics"] extends Readonly<Record<string, PayloadSchema | TopicSpec>>
    ? S["topics"]
    : Record<never, TSchema>;
type MethodsOf<S extends ContractSpec> =
  S["methods"] extends Readonly<Record<string, MethodSchema>>
    ? S["methods"]
    : Record<never, MethodSchema>;

type StaticOf<T> = T extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<T>
  : T extends TSchema
    ? Static<T>
    : T extends TopicSpec<infer Schema>
      ? StaticOf<Schema>
      : unknown;

/** Every topic name the contract accepts. */
export type TopicOf<S extends ContractSpec> = {
  [K in keyof TopicsOf<S> & string]: TopicPattern<K>;
}[keyof TopicsOf<S> & string];

/** The payload type of topic `T` under contract `S` (`unknown` for an untyped contract). */
export type TopicData<S extends ContractSpec, T extends string> = [keyof TopicsOf<S>] extends [
  never,
]
  ? unknown
  : {
      [K in keyof TopicsOf<S> & string]: T extends TopicPattern<K>
        ? StaticOf<TopicsOf<S>[K]>
        : never;
    }[keyof TopicsOf<S> & string];

/** The payload type of direct messages under contract `S` (`unknown` without `direct`). */
export type DirectData<S extends ContractSpec> = S["direct"] extends PayloadSchema
  ? StaticOf<S["direct"]>
  : unknown;

/** The method names of a contract spec. */
export type MethodOf<S extends ContractSpec> = keyof MethodsOf<S> & string;
type MethodSchemaOf<S extends ContractSpec, M extends string> = M extends keyof MethodsOf<S>
  ? MethodsOf<S>[M]
  : never;
/** The params type of method `M` (`unknown` without a typed contract). */
export type MethodParams<S extends ContractSpec, M extends string> =
  MethodSchemaOf<S, M> extends MethodSchema<infer P, PayloadSchema> ? StaticOf<P> : unknown;
/** The result type of method `M` (`unknown` without a typed contract). */
export type MethodResult<S extends ContractSpec, M extends string> =
  MethodSchemaOf<S, M> extends MethodSchema<PayloadSchema, infer R> ? StaticOf<R> : unknown;

/** A validation failure of an application payload. */
export interface ContractIssue {
  /** What was wrong, from the validator. */
  readonly message: string;
  /** JSON pointer inside the payload. */
  readonly path: string;
}

/** The outcome of a contract check: ok, or the first issue found. */
export type ContractCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly issue: ContractIssue };

/** How `defineContract` turns payload schemas into validators. */
export interface ContractOptions {
  /**
   * Compiles one payload schema into a validator. By default payloads are checked with
   * TypeBox's `Value.Check`, which never evaluates code: contracts then work in a browser
   * whose Content-Security-Policy lacks 'unsafe-eval', and no compiler is bundled. Pass
   * `compile` from `@lifeline/protocol/ajv` (Node, or pages allowing 'unsafe-eval') for
   * Ajv-compiled validators: several times faster per check, and they accept plain JSON
   * Schema and Ajv's formats.
   * @default TypeBox `Value.Check` (no code generation)
   */
  readonly compile?: (schema: TSchema) => PayloadValidator;
}

/** A compiled contract: static types for TypeScript, validators at run time. */
export interface Contract<S extends ContractSpec = ContractSpec> {
  /** The spec the contract was defined with (for `typeof contract.spec`). */
  readonly spec: S;
  /** True when the contract declares this topic (or a pattern matching it). */
  hasTopic(topic: string): boolean;
  /** Who may publish to this topic from a client connection; undefined when undeclared. */
  publishRule(topic: string): PublishRule | undefined;
  /** How the topic is conflated; undefined when it is not (or undeclared). */
  conflation(topic: string): ConflateRule | undefined;
  /** True when the contract declares `method`. */
  hasMethod(method: string): boolean;
  /** Validates a topic payload; topics the contract does not declare are refused. */
  checkTopicData(topic: string, data: unknown): ContractCheck;
  /** Checks a request's params against the method's `params` schema. */
  checkParams(method: string, params: unknown): ContractCheck;
  /** Checks a handler's result against the method's `result` schema. */
  checkResult(method: string, result: unknown): ContractCheck;
  /** Validates a direct message against `direct` (always passes without one). */
  checkDirectData(data: unknown): ContractCheck;
}

interface CompiledTopic {
  readonly validate: PayloadValidator;
  readonly publish: PublishRule;
  readonly conflate: ConflateRule | undefined;
}

interface CompiledPattern extends CompiledTopic {
  readonly segments: readonly string[];
}

const PUBLISH_WORDS: readonly string[] = ["server", "clients"];

/**
 * A TypeBox schema carries `[Kind]`, a Standard Schema `~standard`; a `TopicSpec` is a
 * plain object with `schema`.
 */
function isTopicSpec(entry: PayloadSchema | TopicSpec): entry is TopicSpec {
  return !isStandardSchema(entry) && !(Kind in entry) && "schema" in entry;
}

function publishRuleOf(key: string, entry: PayloadSchema | TopicSpec): PublishRule {
  if (!isTopicSpec(entry) || entry.publish === undefined) return "server";
  const rule = entry.publish;
  const valid =
    typeof rule === "string"
      ? PUBLISH_WORDS.includes(rule)
      : Array.isArray(rule) && rule.every((role) => typeof role === "string");
  if (!valid) {
    throw new TypeError(
      `defineContract expects topic "${key}" publish to be "server", "clients" or a list of roles, got ${JSON.stringify(rule)}`,
    );
  }
  return typeof rule === "string" ? rule : Object.freeze([...rule]);
}

function conflateRuleOf(key: string, entry: PayloadSchema | TopicSpec): ConflateRule | undefined {
  if (!isTopicSpec(entry) || entry.conflate === undefined) return undefined;
  const rule: unknown = entry.conflate;
  const field = (rule as { key?: unknown } | null)?.key;
  if (
    typeof rule !== "object" ||
    rule === null ||
    (field !== undefined && (typeof field !== "string" || field === ""))
  ) {
    throw new TypeError(
      `defineContract expects topic "${key}" conflate to be { key?: non-empty string }, got ${JSON.stringify(rule)}`,
    );
  }
  return Object.freeze(field === undefined ? {} : { key: field });
}

/**
 * Declares an application's topics and methods once, with TypeBox or Standard Schema
 * (zod 4, valibot, ...) schemas, mixed as needed.
 * Validators are built here, once (see `ContractOptions.compile`); a schema that cannot be
 * checked (a non-JSON type such as `Type.Date()`) or a `*` that is not a whole segment
 * throws here, at definition time, never later while checking.
 */
export function defineContract<const S extends ContractSpec>(
  spec: S,
  options: ContractOptions = {},
): Contract<S> {
  const compileTypeBox = options.compile ?? valueValidator;
  const compile = (schema: PayloadSchema): PayloadValidator =>
    isStandardSchema(schema) ? standardValidator(schema) : compileTypeBox(schema);
  const exact = new Map<string, CompiledTopic>();
  const patterns: CompiledPattern[] = [];
  for (const [key, entry] of Object.entries(spec.topics ?? {})) {
    const segments = key.split("/");
    if (segments.some((part) => part.includes("*") && part !== "*")) {
      throw new TypeError(
        `defineContract expects "*" to be a whole topic segment, got "${key}" (write "a/*/b")`,
      );
    }
    const topic = {
      validate: compile(isTopicSpec(entry) ? entry.schema : entry),
      publish: publishRuleOf(key, entry),
      conflate: conflateRuleOf(key, entry),
    };
    if (key.includes("*")) patterns.push({ ...topic, segments });
    else exact.set(key, topic);
  }
  const direct = spec.direct === undefined ? undefined : compile(spec.direct);
  const methods = new Map<string, { params: PayloadValidator; result: PayloadValidator }>();
  for (const [name, method] of Object.entries(spec.methods ?? {})) {
    methods.set(name, { params: compile(method.params), result: compile(method.result) });
  }

  const topicEntry = (topic: string): CompiledTopic | undefined => {
    if (typeof topic !== "string") return undefined;
    const direct = exact.get(topic);
    if (direct) return direct;
    const segments = topic.split("/");
    return patterns.find(
      (p) =>
        p.segments.length === segments.length &&
        p.segments.every((part, i) => part === "*" || part === segments[i]),
    );
  };

  return {
    spec,
    hasTopic: (topic) => topicEntry(topic) !== undefined,
    publishRule: (topic) => topicEntry(topic)?.publish,
    conflation: (topic) => topicEntry(topic)?.conflate,
    hasMethod: (method) => methods.has(method),
    checkTopicData(topic, data) {
      // The inbox carries direct messages: a client's subscription to it is checked with them.
      if (topic === INBOX_TOPIC) return direct ? run("direct message", direct, data) : OK;
      const validate = topicEntry(topic)?.validate;
      if (!validate) return fail(`topic ${quote(topic)} is not declared by the contract`, "");
      return run(`topic ${quote(topic)} data`, validate, data);
    },
    checkParams(method, params) {
      const entry = methods.get(method);
      if (!entry) return fail(`method ${quote(method)} is not declared by the contract`, "");
      return run(`method ${quote(method)} params`, entry.params, params);
    },
    checkDirectData(data) {
      return direct ? run("direct message", direct, data) : OK;
    },
    checkResult(method, result) {
      const entry = methods.get(method);
      if (!entry) return fail(`method ${quote(method)} is not declared by the contract`, "");
      return run(`method ${quote(method)} result`, entry.result, result);
    },
  };
}

const OK: ContractCheck = Object.freeze({ ok: true });

/** Never throws: a value too deep for a recursive schema is refused like any invalid one. */
function run(subject: string, validate: PayloadValidator, value: unknown): ContractCheck {
  try {
    if (validate(value)) return OK;
    const error = validate.errors?.[0];
    if (!error) return fail(`${subject} is invalid`, "");
    if (error.keyword === STANDARD_KEYWORD) {
      const at = error.instancePath === "" ? "" : ` at ${error.instancePath}`;
      return fail(
        `${subject} is invalid${at}: ${error.message}`.slice(0, 1024),
        error.instancePath,
      );
    }
    const { message, path } = describeIssue(subject, value, error);
    return fail(message, path);
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message.slice(0, 120)}` : "";
    return fail(`${subject} could not be checked${reason}`, "");
  }
}

function quote(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 61)}...` : name);
}

function fail(message: string, path: string): ContractCheck {
  return { ok: false, issue: { message, path } };
}

/** Marks an issue from a Standard Schema, whose message is the library's own. */
const STANDARD_KEYWORD = "standardSchema";

/**
 * A validator from a Standard Schema's `validate`. Contracts check synchronously (a
 * message is answered or delivered in order), so a schema whose validation returns a
 * promise (an async refinement) fails every check with a message saying so.
 */
function standardValidator(schema: StandardSchemaV1): PayloadValidator {
  const props = schema["~standard"];
  const validate: PayloadValidator = (value) => {
    const result = props.validate(value);
    if (result instanceof Promise) {
      throw new TypeError(
        `the ${props.vendor} schema validates asynchronously; contracts need synchronous validation`,
      );
    }
    if (result.issues === undefined) {
      validate.errors = null;
      return true;
    }
    const issue = result.issues[0];
    validate.errors = [
      {
        keyword: STANDARD_KEYWORD,
        instancePath: pointerOf(issue?.path),
        schemaPath: "",
        params: {},
        message: issue?.message ?? "is invalid",
      },
    ];
    return false;
  };
  return validate;
}

/** A Standard Schema issue path as a JSON pointer (RFC 6901), as TypeBox issues report. */
function pointerOf(path: StandardSchemaV1.Issue["path"]): string {
  if (path === undefined) return "";
  return path
    .map((segment) => {
      const key = typeof segment === "object" ? segment.key : segment;
      return `/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
    })
    .join("");
}
