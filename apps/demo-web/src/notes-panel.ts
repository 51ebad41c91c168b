import type { LifelineClient, MessageMeta } from "@lifeline/client";
import type { CommandLog } from "./commands.js";
import { h } from "./dom.js";
import { MAX_NOTE_CHARS, NOTES_TOPIC, type Note, type ObservatorySpec } from "./types.js";

/** Notes shown; older ones scroll off. */
const MAX_ROWS = 20;
/** Notes shown when the page opens: the latest ones the topic keeps. */
const REWIND = 10;

/**
 * `demo/notes`, the one topic pages may publish to: a form that publishes a note (through
 * the command log, so a note written offline shows `queued` and goes out on reconnect) and
 * the notes everyone wrote, newest first, each shown once whatever the wire or the
 * reconnects in between (the client delivers each offset once).
 */
export function mountNotesPanel(
  host: HTMLElement,
  client: LifelineClient<ObservatorySpec>,
  commands: CommandLog,
): void {
  const input = h("input", {
    attrs: {
      type: "text",
      placeholder: "write a note",
      maxlength: String(MAX_NOTE_CHARS),
      "aria-label": "note",
      "data-testid": "note-text",
    },
  });
  const form = h(
    "form",
    { class: "note-form" },
    input,
    h("button", { text: "Publish", attrs: { type: "submit", "data-testid": "note-publish" } }),
  );
  const list = h("ol", { class: "notes", attrs: { "data-testid": "notes" } });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text === "") return;
    input.value = "";
    void commands.run(`note "${text.length > 24 ? `${text.slice(0, 24)}…` : text}"`, () =>
      client.publish(NOTES_TOPIC, { text }),
    );
  });
  host.replaceChildren(h("h2", { text: "Notes (demo/notes)" }), form, list);

  const show = (note: Note, meta: MessageMeta): void => {
    list.prepend(
      h(
        "li",
        { class: "note", attrs: { "data-testid": "note", "data-offset": String(meta.offset) } },
        h("span", { class: "note-text", text: note.text }),
        h("span", { class: "muted small", text: new Date(meta.ts).toLocaleTimeString() }),
      ),
    );
    while (list.childElementCount > MAX_ROWS) list.lastElementChild?.remove();
  };
  client.subscribe(NOTES_TOPIC, show, { rewind: REWIND });
}
