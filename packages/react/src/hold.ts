/**
 * A reference count whose release waits one microtask. React's strict mode mounts, unmounts
 * and mounts every effect again in one synchronous pass; a release that waited for nothing
 * would stop the resource between the two mounts and start it again (an `unsubscribe` and a
 * second `subscribe` on the wire, a socket closed and reopened). Waiting a microtask lets
 * the second mount take the hold over, so the resource starts once. A release that is not
 * taken over stops it before any timer or socket event can run.
 */
export interface Hold {
  /** True between the first `take()` and the stop that follows the last release. */
  readonly active: boolean;
  /** Takes a hold (starting the resource if it was stopped); returns its release, idempotent. */
  take(): () => void;
}

export function createHold(start: () => void, stop: () => void): Hold {
  let count = 0;
  let active = false;
  const stopIfUnheld = () => {
    if (count > 0 || !active) return;
    active = false;
    stop();
  };
  return {
    get active() {
      return active;
    },
    take() {
      count += 1;
      if (!active) {
        active = true;
        start();
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        count -= 1;
        if (count === 0) queueMicrotask(stopIfUnheld);
      };
    },
  };
}
