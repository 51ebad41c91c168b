import { parseCount, parseJsonArgument } from "../args.js";
import { type Command, DEFAULT_TIMEOUT_MS } from "../command.js";
import { createCliClient, watchConnection } from "../connect.js";
import { ExitCode } from "../exit-codes.js";
import { operationFailure } from "../failures.js";
import { jsonText } from "../output.js";
import { toSocketUrl } from "../url.js";

/** `lifeline request <url> <method> [params-json]`: the result as one line of JSON. */
export const request: Command = async ({ common, positionals, values, output }) => {
  const [rawUrl = "", method = "", paramsText] = positionals;
  const url = toSocketUrl(rawUrl);
  const params =
    paramsText === undefined ? undefined : parseJsonArgument("params-json", paramsText);
  const timeoutMs = parseCount("timeout", values.timeout, 1) ?? DEFAULT_TIMEOUT_MS;
  const client = createCliClient(url, common);
  const watch = watchConnection(client, output);
  try {
    const result = await Promise.race([
      client.request(method, params, { timeoutMs }),
      watch.failed,
    ]);
    output.data(jsonText(result));
    return ExitCode.Ok;
  } catch (error) {
    throw operationFailure(error, url, timeoutMs, watch);
  } finally {
    watch.stop();
    client.close();
  }
};
