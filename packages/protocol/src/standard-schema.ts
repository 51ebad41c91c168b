/**
 * The Standard Schema interface (https://standardschema.dev, v1), which zod (3.24+, 4),
 * valibot (1.0+), ArkType and others implement. Copied rather than imported, as the spec
 * asks of libraries that accept schemas: it is types only and never changes within v1.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema interface of the validator. */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  /** What a validator exposes under `~standard`. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the Standard Schema specification: 1. */
    readonly version: 1;
    /** The library the validator comes from (`zod`, `valibot`, ...). */
    readonly vendor: string;
    /** Validates `value`: the output, or the issues. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Its input and output types, for inference only. */
    readonly types?: Types<Input, Output> | undefined;
  }
  /** The outcome of `validate`. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A value that passed, as the validator's output. */
  export interface SuccessResult<Output> {
    /** The validated value. */
    readonly value: Output;
    /** Absent on success. */
    readonly issues?: undefined;
  }
  /** A value that failed, with why. */
  export interface FailureResult {
    /** Why the value failed. */
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One reason a value failed, with where in it. */
  export interface Issue {
    /** What is wrong, for people. */
    readonly message: string;
    /** Where in the value, from its root. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  /** One step of an issue's path, for validators that wrap keys. */
  export interface PathSegment {
    /** The key of this step. */
    readonly key: PropertyKey;
  }
  /** The input and output types a validator carries (types only). */
  export interface Types<Input = unknown, Output = Input> {
    /** The type the validator accepts. */
    readonly input: Input;
    /** The type it produces. */
    readonly output: Output;
  }
  /** The output type of a Standard Schema validator. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["output"];
}

/** True for any value implementing Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== "object" && typeof value !== "function") return false;
  if (value === null) return false;
  const props = (value as Partial<StandardSchemaV1>)["~standard"];
  return typeof props === "object" && props !== null && props.version === 1;
}
