/** Median with its spread, the form every figure of the report takes. */
export interface Summary {
  readonly runs: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summarise(runs: readonly number[]): Summary {
  const sorted = [...runs].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { runs, median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { runs, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** The `p`-th percentile (0-100) of `values`, nearest-rank; NaN when empty. */
export function percentile(values: ArrayLike<number>, count: number, p: number): number {
  if (count === 0) return Number.NaN;
  const sorted = Float64Array.from({ length: count }, (_, i) => values[i]!).sort();
  const rank = Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1));
  return sorted[rank]!;
}

/** A bounded sample of latencies: the first `capacity` values are kept, the rest counted. */
export class Samples {
  private readonly values: Float64Array;
  private n = 0;
  private seen = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.seen++;
    if (this.n < this.values.length) this.values[this.n++] = value;
  }

  reset(): void {
    this.n = 0;
    this.seen = 0;
  }

  summary(): LatencySummary {
    return {
      count: this.seen,
      p50: percentile(this.values, this.n, 50),
      p99: percentile(this.values, this.n, 99),
      max: percentile(this.values, this.n, 100),
    };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}
