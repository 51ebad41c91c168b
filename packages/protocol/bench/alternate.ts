/**
 * Times two contenders in short alternating batches (A B, B A, ...) and reports the median
 * of the per-round ratios b / a: the machine is shared and noisy, so a burst of noise lands
 * on one round, not on one contender. Both are warmed up to optimised code first.
 */
export function alternate(
  a: () => void,
  b: () => void,
  options: { readonly rounds: number; readonly batch: number; readonly deadline: number },
): { a: number; b: number; ratio: number; rounds: number } {
  const { rounds, batch, deadline } = options;
  const time = (run: () => void): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i += 1) run();
    return Number(process.hrtime.bigint() - start) / batch;
  };
  for (let i = 0; i < 5; i += 1) {
    time(a);
    time(b);
  }
  const aNs: number[] = [];
  const bNs: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds && Date.now() < deadline; round += 1) {
    const first = round % 2 === 0 ? a : b;
    const firstNs = time(first);
    const secondNs = time(first === a ? b : a);
    const [x, y] = first === a ? [firstNs, secondNs] : [secondNs, firstNs];
    aNs.push(x);
    bNs.push(y);
    ratios.push(y / x);
  }
  return { a: median(aNs), b: median(bNs), ratio: median(ratios), rounds: ratios.length };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
