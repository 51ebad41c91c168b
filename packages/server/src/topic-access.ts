import type { Contract } from "@lifeline/protocol";
import type { TopicAction } from "./options.js";

/**
 * Publishing is closed unless the contract opens the topic to this role: a topic without a
 * rule cannot be forged by any client. Subscribing is open, but a contract lists the whole
 * topic space, so a topic outside it is refused.
 */
export function allowedByDefault(
  contract: Contract | undefined,
  role: string,
  topic: string,
  action: TopicAction,
): boolean {
  if (action === "subscribe") return contract === undefined || contract.hasTopic(topic);
  const rule = contract?.publishRule(topic);
  if (rule === undefined || rule === "server") return false;
  return rule === "clients" || rule.includes(role);
}
