/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/** The default random source. */
export const systemRandom: Random = Math.random;

/**
 * A deterministic PRNG (mulberry32) for tests and simulations: the same seed always gives
 * the same sequence. Not for cryptography.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
