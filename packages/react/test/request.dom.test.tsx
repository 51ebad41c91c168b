// @vitest-environment jsdom
import { isLifelineError } from "@lifeline/client";
import { type LifelineServer, MethodError } from "@lifeline/server";
import { deferred } from "@lifeline/test-support";
import { act, cleanup, configure, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createLifelineHooks, LifelineProvider, type RequestResult } from "../src/index.js";
import { contract, type Spec } from "./contract.js";
import { clientOptions, startCountingServer } from "./helpers.js";

// useRequest in jsdom under strict mode against a real server whose methods the contract
// types: results and failures land in the hook's state, and unmounting aborts what is in
// flight.

const { useRequest, useSubscription } = createLifelineHooks<Spec>();

// Waits end on the awaited event; the bound is only for a loaded machine (the default, 1 s,
// is shorter than a connection takes on two busy cores).
configure({ asyncUtilTimeout: 10_000 });

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function server() {
  const s = await startCountingServer({ contract });
  disposers.push(() => s.close());
  const hung = deferred<null>();
  const typed = s.server as unknown as LifelineServer<unknown, Spec>;
  typed.method("echo", ({ text }) => ({ text: text.toUpperCase() }));
  typed.method("fail", () => {
    throw new MethodError("out_of_range", "the mount cannot point there");
  });
  typed.method("hang", () => hung.promise);
  disposers.push(() => hung.resolve(null));
  return s;
}

function Echo() {
  const echo = useRequest("echo");
  return (
    <>
      <button type="button" onClick={() => echo.run({ text: "hello" })}>
        echo
      </button>
      <p>
        {echo.status}: {echo.data?.text ?? "-"}
      </p>
    </>
  );
}

/** The latest render's `useRequest("fail")`, for the test to call. */
let failing: RequestResult<null, null> | undefined;
function Fail() {
  failing = useRequest("fail");
  return <p>{failing.status}</p>;
}

/** The latest call's promise, for the test to await. */
let hanging: Promise<null> | undefined;
function Hang() {
  const hang = useRequest("hang");
  return (
    <button type="button" onClick={() => (hanging = hang.call(null))}>
      {hang.status}
    </button>
  );
}

/** Never rendered: the package's typecheck (tsc) checks it, vitest only loads it. */
export function Typed() {
  const echo = useRequest("echo");
  expectTypeOf(echo.data).toEqualTypeOf<{ text: string } | undefined>();
  expectTypeOf(echo.call).parameter(0).toEqualTypeOf<{ text: string }>();
  // @ts-expect-error: a method the contract does not declare
  useRequest("nope");
  // @ts-expect-error: params of the wrong shape
  void echo.call({ txt: "x" });
  const room = useSubscription("room/kitchen/temperature");
  expectTypeOf(room.data).toEqualTypeOf<{ celsius: number } | undefined>();
  // @ts-expect-error: a topic the contract does not declare
  useSubscription("room/kitchen/humidity");
  return null;
}

describe("useRequest", () => {
  it("calls the method and shows pending, then the result", async () => {
    const s = await server();
    render(
      <StrictMode>
        <LifelineProvider options={clientOptions<Spec>(s, { contract })}>
          <Echo />
        </LifelineProvider>
      </StrictMode>,
    );
    expect(screen.getByText("idle: -")).toBeTruthy();
    act(() => screen.getByText("echo").click());
    expect(screen.getByText("pending: -")).toBeTruthy();
    await screen.findByText("success: HELLO");
  });

  it("shows the server's error code", async () => {
    const s = await server();
    render(
      <StrictMode>
        <LifelineProvider options={clientOptions<Spec>(s)}>
          <Fail />
        </LifelineProvider>
      </StrictMode>,
    );
    let thrown: unknown;
    await act(() => failing?.call(null).catch((error: unknown) => (thrown = error)));
    await screen.findByText("error");
    expect(isLifelineError(thrown) && thrown.code).toBe("out_of_range");
    expect(failing?.error).toBe(thrown);
    act(() => failing?.reset());
    expect(screen.getByText("idle")).toBeTruthy();
  });

  it("aborts a call in flight when the component unmounts", async () => {
    const s = await server();
    const { unmount } = render(
      <StrictMode>
        <LifelineProvider options={clientOptions<Spec>(s)}>
          <Hang />
        </LifelineProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(s.server.connections()).toHaveLength(1));
    act(() => screen.getByText("idle").click());
    expect(screen.getByText("pending")).toBeTruthy();
    const settled = hanging?.then(
      () => "resolved",
      (error: unknown) => (isLifelineError(error) ? error.code : String(error)),
    );
    unmount();
    expect(await settled).toBe("aborted");
  });

  it("is typed by the contract (checked by tsc)", () => {
    expectTypeOf(Typed).returns.toBeNull();
  });
});
