/** Whether a system program or privilege a test drives for real is there, and if not, why. */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** True when the run is CI's (`CI=true`), where no test may skip for want of a dependency. */
export function onCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/**
 * For `describe.skipIf(...)`: whether tests needing `what` must skip here. Off CI a missing
 * dependency skips them with a warning naming the reason. Under CI it throws, so the file
 * fails with the reason instead of the run passing with fewer tests.
 */
export function skipWithout(what: string, availability: Availability): boolean {
  if (availability.ok) return false;
  const message = `${what} unavailable: ${availability.reason}`;
  if (onCi()) throw new Error(`${message} (CI=true: tests may not skip for a missing dependency)`);
  console.warn(`[skipped] ${message}`);
  return true;
}
