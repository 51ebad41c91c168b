import { type Contract, conflationKey } from "@lifeline/protocol";
import type { Broker, ConflateEntry } from "./broker.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";

/**
 * The `conflate` of an append to `topic`: the key its data is the latest of, when the
 * contract declares the topic conflated (PROTOCOL.md, "Conflation"); undefined otherwise.
 */
export function conflateEntry(
  contract: Contract | undefined,
  topic: string,
  data: unknown,
): ConflateEntry | undefined {
  const rule = contract?.conflation(topic);
  return rule === undefined ? undefined : { key: conflationKey(rule, data) };
}

/** A contract with conflated topics needs a broker that keeps a latest-per-key table. */
export function checkConflationSupport(contract: Contract | undefined, broker: Broker): void {
  if (contract === undefined || broker.latest !== undefined) return;
  const conflated = Object.keys(contract.spec.topics ?? {}).filter(
    (topic) => contract.conflation(topic) !== undefined,
  );
  if (conflated.length === 0) return;
  throw new LifelineServerError(
    ServerErrorCode.InvalidOptions,
    `the contract declares conflated topics (${conflated.join(", ")}) but the broker has no latest() to keep their latest message per key`,
  );
}
