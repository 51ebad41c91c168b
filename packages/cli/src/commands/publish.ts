import { parseCount, parseJsonArgument } from "../args.js";
import { type Command, DEFAULT_TIMEOUT_MS } from "../command.js";
import { createCliClient, watchConnection } from "../connect.js";
import { ExitCode } from "../exit-codes.js";
import { operationFailure } from "../failures.js";
import { toSocketUrl } from "../url.js";

/** `lifeline publish <url> <topic> <data-json>`: the ack `{topic, offset, epoch}`. */
export const publish: Command = async ({ common, positionals, values, output }) => {
  const [rawUrl = "", topic = "", dataText = ""] = positionals;
  const url = toSocketUrl(rawUrl);
  const data = parseJsonArgument("data-json", dataText);
  const timeoutMs = parseCount("timeout", values.timeout, 1) ?? DEFAULT_TIMEOUT_MS;
  const client = createCliClient(url, common);
  const watch = watchConnection(client, output);
  try {
    const ack = await Promise.race([client.publish(topic, data, { timeoutMs }), watch.failed]);
    output.data(JSON.stringify({ topic: ack.topic, offset: ack.offset, epoch: ack.epoch }));
    return ExitCode.Ok;
  } catch (error) {
    throw operationFailure(error, url, timeoutMs, watch);
  } finally {
    watch.stop();
    client.close();
  }
};
