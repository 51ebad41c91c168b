import type { Contract } from "@lifeline/protocol";
import type { Connection } from "./connection.js";
import type { ResolvedOptions, TopicAction } from "./options.js";

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

/**
 * The hook, when given, decides; otherwise the defaults of PROTOCOL.md, "Who may publish
 * and subscribe", which the hook is told as `byDefault`. Only `true` allows.
 */
export async function isAllowed<Principal>(
  opts: ResolvedOptions<Principal>,
  connection: Connection,
  topic: string,
  action: TopicAction,
): Promise<boolean> {
  const byDefault = allowedByDefault(opts.contract, connection.role, topic, action);
  if (!opts.authorize) return byDefault;
  const access = { role: connection.role, clientId: connection.clientId, byDefault };
  return (await opts.authorize(connection.principal as Principal, topic, action, access)) === true;
}
