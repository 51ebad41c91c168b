/**
 * The protocol's Ajv instance, for compiling schemas of your own with the protocol's settings.
 *
 * @packageDocumentation
 * @module @lifeline/protocol/ajv
 */
/**
 * The protocol's Ajv instance, for Node users who compile their own schemas with the
 * protocol's settings (also `@lifeline/protocol/ajv`). Nothing else in the package
 * imports this module: the codec runs validators compiled ahead of time
 * (src/generated/validators.ts) and contracts check with TypeBox's `Value` unless given
 * `compile`, so a bundle that does not use `ajv` or `compile` carries no Ajv and never
 * evaluates code (Ajv's compiler uses `new Function`, which a Content-Security-Policy
 * without 'unsafe-eval' forbids).
 */
import type { TSchema } from "@sinclair/typebox";
import { Ajv, type ValidateFunction } from "ajv";
import { patternEngine } from "./patterns.js";

/**
 * `unicode: false` makes `maxLength` count UTF-16 code units like `String.length` (the
 * JSON Schema default counts code points by walking the string, which costs more than the
 * rest of a `publish` validation together). The protocol's own patterns run as
 * hand-written matchers (see patterns.ts). scripts/generate-validators.ts compiles the
 * wire messages with the same options.
 */
export const ajv = new Ajv({
  allErrors: false,
  strict: true,
  coerceTypes: false,
  code: { regExp: patternEngine },
});
// Set after construction: as a constructor option Ajv prints a deprecation notice on every
// import, yet the option still drives code generation (vocabularies/validation/limitLength).
ajv.opts.unicode = false;

/**
 * Compiles a TypeBox schema with the protocol's Ajv instance (at run time, with
 * `new Function`). Pass it to `defineContract(spec, { compile })` for compiled contract
 * checks in Node.
 */
export function compile<T>(schema: TSchema): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}
