/** The part of a broker (`@lifeline/protocol`'s `Broker`) that the fault hook wraps. */
export interface Appender {
  append(topic: string, data: unknown, options?: object): Promise<unknown>;
}

/** The broker failure a refused append stands for, as the server reports it (`overloaded`). */
export class InjectedAppendFault extends Error {
  constructor(topic: string, call: number) {
    super(`injected fault: append ${call} to "${topic}" refused`);
    this.name = "InjectedAppendFault";
  }
}

/**
 * Wraps a broker so that the appends `refuse(call, topic)` picks fail before reaching it,
 * as a broker that lost Redis would: the server answers those publishes `overloaded`
 * (retryable) and appends nothing. `call` counts appends from 0 across every topic. Every
 * other member of the broker is its own.
 */
export function withAppendFaults<B extends Appender>(
  broker: B,
  refuse: (call: number, topic: string) => boolean,
): B & { readonly refused: number } {
  let calls = 0;
  let refused = 0;
  return new Proxy(broker, {
    get(target, key, receiver) {
      if (key === "refused") return refused;
      if (key !== "append") {
        const value = Reflect.get(target, key, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (topic: string, data: unknown, options?: object) => {
        const call = calls++;
        if (refuse(call, topic)) {
          refused += 1;
          return Promise.reject(new InjectedAppendFault(topic, call));
        }
        return target.append(topic, data, options);
      };
    },
  }) as B & { readonly refused: number };
}
