import type { Line, LineStyle } from "./render.js";

const ESC = "\x1b[";
// Alternate screen (xterm private mode 1049) so the shell's scrollback is left as it was.
const ENTER = `${ESC}?1049h${ESC}?25l${ESC}2J`;
const LEAVE = `${ESC}0m${ESC}?25h${ESC}?1049l`;

const COLORS: Record<LineStyle, string> = {
  ok: `${ESC}32m`,
  busy: `${ESC}33m`,
  down: `${ESC}31m`,
  toast: `${ESC}97;41m`,
  dim: `${ESC}2m`,
  heading: `${ESC}1m`,
  plain: "",
};

/** A full-screen terminal: draws frames of lines, reports keys and size changes. */
export interface Screen {
  readonly columns: number;
  readonly rows: number;
  /** Writes the lines that differ from the previous frame. */
  draw(lines: readonly Line[]): void;
  /** Calls `listener` with each key typed (raw mode: one string per key). Returns its undo. */
  onKey(listener: (key: string) => void): () => void;
  onResize(listener: () => void): () => void;
  /** Leaves the alternate screen and raw mode; safe to call twice. */
  close(): void;
}

/**
 * Plain ANSI/VT100 sequences, which every terminal emulator and tmux understand. Colour is
 * left out when `NO_COLOR` is set (https://no-color.org).
 */
export function openScreen(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): Screen {
  const color = !process.env.NO_COLOR;
  let previous: string[] = [];
  let closed = false;
  stdout.write(ENTER);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  const onResize = () => {
    previous = [];
    stdout.write(`${ESC}2J`);
  };
  stdout.on("resize", onResize);
  return {
    get columns() {
      return stdout.columns || 80;
    },
    get rows() {
      return stdout.rows || 24;
    },
    draw(lines) {
      if (closed) return;
      let out = "";
      lines.forEach((line, row) => {
        const painted =
          color && COLORS[line.style] ? `${COLORS[line.style]}${line.text}${ESC}0m` : line.text;
        if (previous[row] === painted) return;
        previous[row] = painted;
        out += `${ESC}${row + 1};1H${painted}${ESC}K`;
      });
      if (previous.length > lines.length) {
        out += `${ESC}${lines.length + 1};1H${ESC}J`;
        previous.length = lines.length;
      }
      if (out) stdout.write(out);
    },
    onKey(listener) {
      const handler = (chunk: string) => listener(chunk);
      stdin.on("data", handler);
      return () => stdin.off("data", handler);
    },
    onResize(listener) {
      stdout.on("resize", listener);
      return () => stdout.off("resize", listener);
    },
    close() {
      if (closed) return;
      closed = true;
      stdout.off("resize", onResize);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      stdout.write(LEAVE);
    },
  };
}
