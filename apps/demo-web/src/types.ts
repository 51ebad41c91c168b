/**
 * The observatory's payloads as the page sees them. They mirror the TypeBox schemas in
 * apps/demo-server/src/contract.ts (the page keeps its bundle free of the validators).
 */
export type Direction = "up" | "down" | "left" | "right";

export interface TelescopeState {
  battery: number;
  temperature_c: number;
  gain: number;
  ra_deg: number;
  dec_deg: number;
  tracking: boolean;
  moving: Direction | null;
}

export type TelescopeStatus = { telescope_id: string; full: boolean } & Partial<TelescopeState>;

export interface TelescopeInfo {
  id: string;
  name: string;
  online: boolean;
}

export interface TelescopesEvent {
  event: "discovered" | "lost";
  telescope_id: string;
  telescopes: TelescopeInfo[];
}

export interface ListResult {
  telescopes: (TelescopeInfo & { state: TelescopeState })[];
}

export interface Tick {
  n: number;
}

export interface PageConfig {
  nodeId: string;
  broker: "memory" | "redis" | "external";
  producer: boolean;
  wsUrls: string[] | null;
}

export const GAIN_RANGE = { min: 0, max: 300 } as const;
export const statusTopic = (id: string): string => `telescope/${id}/status`;
