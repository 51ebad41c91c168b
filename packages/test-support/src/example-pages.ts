import { within } from "./within.js";

/** An HTTP answer, read whole. */
export interface Fetched {
  readonly status: number;
  readonly text: string;
}

/** What an example app answers on the paths every example serves. */
export interface ExamplePages {
  /** `GET /`: the app's own page. */
  readonly page: Fetched;
  /** `GET /health`: Lifeline's endpoint, through `handleHttp`. */
  readonly health: Fetched;
  /** `GET /metrics`: Lifeline's endpoint, through `handleHttp`. */
  readonly metrics: Fetched;
  /** `GET /nowhere`: the framework's own answer to a path nobody serves. */
  readonly missing: Fetched;
}

async function fetchText(url: string): Promise<Fetched> {
  const response = await within(fetch(url), `GET ${url}`, 60_000);
  return { status: response.status, text: await response.text() };
}

/** Fetches, one after another, the paths every example app serves from `baseUrl`. */
export async function fetchExamplePages(baseUrl: string): Promise<ExamplePages> {
  return {
    page: await fetchText(`${baseUrl}/`),
    health: await fetchText(`${baseUrl}/health`),
    metrics: await fetchText(`${baseUrl}/metrics`),
    missing: await fetchText(`${baseUrl}/nowhere`),
  };
}
