import type { Static, TSchema } from "@sinclair/typebox";
import { describeIssue } from "./codec.js";
import { type PayloadValidator, valueValidator } from "./payload-check.js";

export type { PayloadValidator } from "./payload-check.js";

/** A method's parameter and result schemas. */
export interface MethodSchema<P extends TSchema = TSchema, R extends TSchema = TSchema> {
  readonly params: P;
  readonly result: R;
}

/**
 * What an application declares once and shares between server and client.
 * Topic keys are names or patterns where a `*` stands for exactly one whole path segment
 * (`"telescope/*\/status"` matches `telescope/seestar-001/status`, not `telescope/a/b/status`).
 * When a topic matches an exact key and a pattern, the exact key wins; among patterns, the
 * first declared wins.
 */
export interface ContractSpec {
  readonly topics?: Readonly<Record<string, TSchema>>;
  readonly methods?: Readonly<Record<string, MethodSchema>>;
}

/** `"a/*\/b"` -> `` `a/${string}/b` ``: the topic names a pattern key accepts. */
export type TopicPattern<K extends string> = K extends `${infer Head}*${infer Tail}`
  ? `${Head}${string}${TopicPattern<Tail>}`
  : K;

type TopicsOf<S extends ContractSpec> =
  S["topics"] extends Readonly<Record<string, TSchema>> ? S["topics"] : Record<never, TSchema>;
type MethodsOf<S extends ContractSpec> =
  S["methods"] extends Readonly<Record<string, MethodSchema>>
    ? S["methods"]
    : Record<never, MethodSchema>;

type StaticOf<T> = T extends TSchema ? Static<T> : unknown;

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

export type MethodOf<S extends ContractSpec> = keyof MethodsOf<S> & string;
type MethodSchemaOf<S extends ContractSpec, M extends string> = M extends keyof MethodsOf<S>
  ? MethodsOf<S>[M]
  : never;
export type MethodParams<S extends ContractSpec, M extends string> =
  MethodSchemaOf<S, M> extends MethodSchema<infer P, TSchema> ? StaticOf<P> : unknown;
export type MethodResult<S extends ContractSpec, M extends string> =
  MethodSchemaOf<S, M> extends MethodSchema<TSchema, infer R> ? StaticOf<R> : unknown;

/** A validation failure of an application payload. */
export interface ContractIssue {
  readonly message: string;
  /** JSON pointer inside the payload. */
  readonly path: string;
}

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
  readonly spec: S;
  /** True when the contract declares this topic (or a pattern matching it). */
  hasTopic(topic: string): boolean;
  hasMethod(method: string): boolean;
  /** Validates a topic payload; topics the contract does not declare are refused. */
  checkTopicData(topic: string, data: unknown): ContractCheck;
  checkParams(method: string, params: unknown): ContractCheck;
  checkResult(method: string, result: unknown): ContractCheck;
}

interface CompiledTopic {
  readonly segments: readonly string[];
  readonly validate: PayloadValidator;
}

/**
 * Declares an application's topics and methods once, with TypeBox schemas.
 * Validators are built here, once (see `ContractOptions.compile`); a schema that cannot be
 * checked (a non-JSON type such as `Type.Date()`) or a `*` that is not a whole segment
 * throws here, at definition time, never later while checking.
 */
export function defineContract<const S extends ContractSpec>(
  spec: S,
  options: ContractOptions = {},
): Contract<S> {
  const compile = options.compile ?? valueValidator;
  const exact = new Map<string, PayloadValidator>();
  const patterns: CompiledTopic[] = [];
  for (const [key, schema] of Object.entries(spec.topics ?? {})) {
    const segments = key.split("/");
    if (segments.some((part) => part.includes("*") && part !== "*")) {
      throw new TypeError(
        `defineContract expects "*" to be a whole topic segment, got "${key}" (write "a/*/b")`,
      );
    }
    const validate = compile(schema);
    if (key.includes("*")) patterns.push({ segments, validate });
    else exact.set(key, validate);
  }
  const methods = new Map<string, { params: PayloadValidator; result: PayloadValidator }>();
  for (const [name, method] of Object.entries(spec.methods ?? {})) {
    methods.set(name, { params: compile(method.params), result: compile(method.result) });
  }

  const topicValidator = (topic: string): PayloadValidator | undefined => {
    if (typeof topic !== "string") return undefined;
    const direct = exact.get(topic);
    if (direct) return direct;
    const segments = topic.split("/");
    return patterns.find(
      (p) =>
        p.segments.length === segments.length &&
        p.segments.every((part, i) => part === "*" || part === segments[i]),
    )?.validate;
  };

  return {
    spec,
    hasTopic: (topic) => topicValidator(topic) !== undefined,
    hasMethod: (method) => methods.has(method),
    checkTopicData(topic, data) {
      const validate = topicValidator(topic);
      if (!validate) return fail(`topic ${quote(topic)} is not declared by the contract`, "");
      return run(`topic ${quote(topic)} data`, validate, data);
    },
    checkParams(method, params) {
      const entry = methods.get(method);
      if (!entry) return fail(`method ${quote(method)} is not declared by the contract`, "");
      return run(`method ${quote(method)} params`, entry.params, params);
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
