import type { LifelineClient } from "@lifeline/client";
import { createContext, useContext } from "react";
import type { PresenceFeeds } from "./presence-feeds.js";
import type { TopicFeeds } from "./topic-feeds.js";

/** What `LifelineProvider` gives the hooks below it. */
export interface LifelineContextValue {
  readonly client: LifelineClient;
  readonly feeds: TopicFeeds;
  readonly presence: PresenceFeeds;
}

export const LifelineContext = createContext<LifelineContextValue | null>(null);
LifelineContext.displayName = "LifelineContext";

/** The provider's value; a hook used outside any provider throws, naming itself. */
export function useLifelineContext(hook: string): LifelineContextValue {
  const value = useContext(LifelineContext);
  if (value === null) {
    throw new Error(`${hook}() must be called inside a <LifelineProvider>`);
  }
  return value;
}
