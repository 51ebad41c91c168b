/**
 * Backoff delays as plain data (exponential with full, equal or decorrelated jitter, explicit
 * tables), seeded randomness, and `retry()`.
 *
 * @packageDocumentation
 * @module @lifeline/backoff
 */
export {
  type BackoffPolicy,
  type DecorrelatedOptions,
  type DecorrelatedPolicy,
  decorrelated,
  type ExponentialOptions,
  type ExponentialPolicy,
  exponential,
  type Jitter,
  type TableOptions,
  type TablePolicy,
  table,
} from "./policies.js";
export { presets } from "./presets.js";
export { type Random, seededRandom, systemRandom } from "./random.js";
export { abortableSleep, type RetryContext, type RetryOptions, retry } from "./retry.js";
export {
  createSchedule,
  delayFor,
  maxDelayOf,
  type Schedule,
  type ScheduleOptions,
} from "./schedules.js";
