import type { CodecName, LifelineClient, TransportName } from "@lifeline/client";
import { h } from "./dom.js";
import type { ObservatorySpec } from "./types.js";

/** What the page's switch offers: let the client choose the wire, or force one. */
export type TransportChoice = "auto" | "websocket" | "sse";

/** The wires and the encoding the page asks its client for. */
export interface WireChoice {
  readonly transport: TransportChoice;
  readonly codec: CodecName;
}

/** The client's `transports` option for each choice, preferred first. */
const TRANSPORTS: Readonly<Record<TransportChoice, readonly TransportName[]>> = {
  auto: ["websocket", "sse"],
  websocket: ["websocket"],
  sse: ["sse"],
};

const TRANSPORT_CHOICES: Readonly<Record<TransportChoice, string>> = {
  auto: "Auto",
  websocket: "WebSocket only",
  sse: "SSE only",
};

/** How the indicator and the diagnostics name a wire and an encoding. */
export const TRANSPORT_LABEL: Readonly<Record<TransportName, string>> = {
  websocket: "WebSocket",
  sse: "SSE",
};
export const CODEC_LABEL: Readonly<Record<CodecName, string>> = {
  json: "JSON",
  msgpack: "MessagePack",
};

const isKeyOf = <T extends object>(table: T, key: string | null): key is Extract<keyof T, string> =>
  key !== null && Object.hasOwn(table, key);

/**
 * `?transport=auto|websocket|sse&codec=json|msgpack`; a missing or unknown value is the
 * client's default (both wires, WebSocket first; JSON).
 */
export function readWireChoice(params: URLSearchParams): WireChoice {
  const transport = params.get("transport");
  const codec = params.get("codec");
  return {
    transport: isKeyOf(TRANSPORTS, transport) ? transport : "auto",
    codec: isKeyOf(CODEC_LABEL, codec) ? codec : "json",
  };
}

export function transportsOf(choice: TransportChoice): readonly TransportName[] {
  return TRANSPORTS[choice];
}

/** Where the switch sends the page when the codec changes (a test may watch it). */
export type Navigate = (url: string) => void;

/**
 * The top bar's wire switch: "Auto / WebSocket only / SSE only" and "JSON / MessagePack".
 * The transport changes in place: `client.setTransports` moves the live connection to the
 * chosen wire (a reconnect that resumes every subscription by offset and replays the
 * outbox, so nothing is lost), and the URL records the choice so a reload keeps it. The
 * codec is fixed when a client is created, so changing it reloads the page with the new
 * `?codec=`: the client id (kept in `sessionStorage`) and the ticks' positions survive a
 * reload, which resumes like a reconnect.
 */
export function mountWireSwitch(
  host: HTMLElement,
  client: LifelineClient<ObservatorySpec>,
  initial: WireChoice,
  navigate: Navigate = (url) => location.assign(url),
): void {
  const select = (
    label: string,
    testId: string,
    options: Readonly<Record<string, string>>,
    value: string,
  ): HTMLSelectElement => {
    const element = h(
      "select",
      { attrs: { "aria-label": label, "data-testid": testId, title: label } },
      ...Object.entries(options).map(([key, text]) => h("option", { text, attrs: { value: key } })),
    );
    element.value = value;
    return element;
  };
  const transport = select("transport", "wire-transport", TRANSPORT_CHOICES, initial.transport);
  const codec = select("codec", "wire-codec", CODEC_LABEL, initial.codec);
  const urlWith = (name: string, value: string): string => {
    const url = new URL(location.href);
    url.searchParams.set(name, value);
    return url.href;
  };

  transport.addEventListener("change", () => {
    if (!isKeyOf(TRANSPORTS, transport.value)) return;
    client.setTransports(TRANSPORTS[transport.value]);
    history.replaceState(history.state, "", urlWith("transport", transport.value));
  });
  codec.addEventListener("change", () => navigate(urlWith("codec", codec.value)));
  host.replaceChildren(transport, codec);
}
