/**
 * Hand-written matchers for the protocol's own string patterns. Profiling the parse of a
 * 200-byte `publish` showed the topic pattern's RegExp taking about two thirds of all
 * validation time (a RegExp call on a fresh string costs more than a loop over its
 * characters), so Ajv gets these through its `code.regExp` hook; the schemas and the
 * exported JSON Schema keep the patterns as the specification, and a property test checks
 * each matcher against its RegExp. Any other pattern (application contracts) is a RegExp.
 */

export const TOPIC_NAME_PATTERN = "^[A-Za-z0-9_.:@-]+(/[A-Za-z0-9_.:@-]+)*$";
export const METHOD_NAME_PATTERN = "^[A-Za-z0-9_.:/-]+$";

const SLASH = 0x2f;

function charTable(extra: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c += 1) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c += 1) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c += 1) table[c] = 1;
  for (const char of extra) table[char.charCodeAt(0)] = 1;
  return table;
}

const topicChars = charTable("_.:@-");
const methodChars = charTable("_.:/-");

/** `^[A-Za-z0-9_.:@-]+(/[A-Za-z0-9_.:@-]+)*$`: non-empty segments joined by single slashes. */
export function isTopicName(text: string): boolean {
  const length = text.length;
  if (length === 0) return false;
  let afterSlash = true;
  for (let i = 0; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === SLASH) {
      if (afterSlash) return false;
      afterSlash = true;
    } else if (c < 128 && topicChars[c] === 1) {
      afterSlash = false;
    } else {
      return false;
    }
  }
  return !afterSlash;
}

/** `^[A-Za-z0-9_.:/-]+$` */
export function isMethodName(text: string): boolean {
  const length = text.length;
  if (length === 0) return false;
  for (let i = 0; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 128 || methodChars[c] !== 1) return false;
  }
  return true;
}

interface RegExpLike {
  test(text: string): boolean;
  toString(): string;
}

const matchers = new Map<string, (text: string) => boolean>([
  [TOPIC_NAME_PATTERN, isTopicName],
  [METHOD_NAME_PATTERN, isMethodName],
]);

/**
 * Ajv's `code.regExp` engine: the matchers above for the protocol's patterns, a RegExp
 * with Ajv's flags for anything else. Ajv keys compiled patterns by `toString()`, so each
 * matcher prints like the RegExp it replaces. `code` names the constructor for Ajv's
 * standalone code generation, which the protocol does not use.
 */
export const patternEngine = Object.assign(
  (pattern: string, flags: string): RegExpLike => {
    const test = matchers.get(pattern);
    if (test === undefined) return new RegExp(pattern, flags);
    const printed = `/${pattern}/${flags}`;
    return { test, toString: () => printed };
  },
  { code: "new RegExp" },
);
