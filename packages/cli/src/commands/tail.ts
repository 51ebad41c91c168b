import type { GapEvent, MessageMeta } from "@lifeline/client";
import { parseCount, parseResumePoint } from "../args.js";
import type { Command } from "../command.js";
import { createCliClient, watchConnection } from "../connect.js";
import { CliError, usageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { jsonText } from "../output.js";
import { toSocketUrl } from "../url.js";

/** One message on stdout: `--json` is one JSON object per line, else `topic offset:epoch data`. */
export function formatMessage(data: unknown, meta: MessageMeta, json: boolean): string {
  if (json) {
    return jsonText({ topic: meta.topic, offset: meta.offset, epoch: meta.epoch, data });
  }
  return `${meta.topic} ${meta.offset}:${meta.epoch} ${jsonText(data)}`;
}

/** `gap on t: epoch_changed, was at 3:e1, resumed at 0:e2 (offsets 4-7 of e1 lost)`. */
export function formatGap(gap: GapEvent): string {
  const since = `${gap.since.offset}:${gap.since.epoch}`;
  const resumed = `${gap.resumedAt.offset}:${gap.resumedAt.epoch}`;
  const lost = gap.lost
    ? ` (offsets ${gap.lost.fromOffset}-${gap.lost.toOffset} of ${gap.lost.epoch} lost)`
    : "";
  return `gap on ${gap.topic}: ${gap.reason}, was at ${since}, resumed at ${resumed}${lost}`;
}

/**
 * `lifeline tail <url> <topic...>`: every message once, in order, across reconnects (the
 * client resumes each topic from the last offset printed). It starts at the live head,
 * after `--since offset:epoch` (a position an earlier `tail` printed), or with the last
 * `--rewind N` retained messages. Gaps go to stderr even under `--quiet`: they are lost
 * data, not chatter.
 */
export const tail: Command = async ({ common, positionals, values, output, interrupted }) => {
  const [rawUrl = "", ...topics] = positionals;
  const url = toSocketUrl(rawUrl);
  const count = parseCount("count", values.count, 1);
  const since = parseResumePoint("since", values.since);
  const rewind = parseCount("rewind", values.rewind, 1);
  if (since && rewind !== undefined) throw usageError("give --since or --rewind, not both");
  const start = { ...(since ? { since } : {}), ...(rewind === undefined ? {} : { rewind }) };
  const json = values.json === true;
  const client = createCliClient(url, common);
  const watch = watchConnection(client, output);
  const undo: (() => void)[] = [watch.stop];
  try {
    return await new Promise<ExitCode>((resolve, reject) => {
      let printed = 0;
      const onAbort = () => resolve(ExitCode.Interrupted);
      interrupted.addEventListener("abort", onAbort, { once: true });
      undo.push(() => interrupted.removeEventListener("abort", onAbort));
      watch.failed.catch(reject);
      undo.push(client.on("gap", (gap) => output.error(formatGap(gap))));
      for (const topic of topics) {
        const unsubscribe = client.subscribe(
          topic,
          (data, meta) => {
            if (count !== undefined && printed >= count) return;
            output.data(formatMessage(data, meta, json));
            printed += 1;
            if (count !== undefined && printed >= count) resolve(ExitCode.Ok);
          },
          {
            ...start,
            onError: (error) =>
              reject(
                new CliError(
                  ExitCode.Failed,
                  `subscribe to ${topic} refused: ${error.code}: ${error.message}`,
                ),
              ),
          },
        );
        undo.push(unsubscribe);
      }
    });
  } finally {
    for (const stop of undo.reverse()) stop();
    client.close();
  }
};
