/** A broker's health (`@lifeline/protocol`'s `BrokerHealth`, structurally). */
export interface Health {
  readonly healthy: boolean;
  /** Why it is unhealthy, for `/health` and logs. */
  readonly detail?: string;
}

/** What {@link withSettableHealth} adds to a broker. */
export interface SettableHealth {
  health(): Health;
  onHealthChange(listener: (health: Health) => void): () => void;
  /** Sets the health and tells every `onHealthChange` listener, as the Redis broker does. */
  setHealth(health: Health): void;
}

/**
 * Wraps a broker (the memory broker, which is never down) so that the test sets its health,
 * announced through `onHealthChange`: a server's broker-outage handling (refusing upgrades
 * with 503, closing its clients) runs without cutting a real Redis off. Every other member
 * of the broker is its own. Healthy until `setHealth` says otherwise.
 */
export function withSettableHealth<B extends object>(
  broker: B,
): Omit<B, keyof SettableHealth> & SettableHealth {
  let health: Health = { healthy: true };
  const listeners = new Set<(health: Health) => void>();
  const added: SettableHealth = {
    health: () => health,
    onHealthChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setHealth(next) {
      health = next;
      for (const listener of [...listeners]) listener(next);
    },
  };
  return new Proxy(broker, {
    get(target, key, receiver) {
      if (Object.hasOwn(added, key)) return added[key as keyof SettableHealth];
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Omit<B, keyof SettableHealth> & SettableHealth;
}
