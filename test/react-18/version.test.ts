import { version as react } from "react";
import { version as reactDom } from "react-dom";
import { describe, expect, it } from "vitest";

// The other files of this project are @lifeline/react's own tests; this one checks that
// they do run under React 18 here. The package's sources get the same React as the tests:
// with two copies every hook would fail ("Invalid hook call").
describe("this project", () => {
  it("runs under React 18.3", () => {
    expect(react).toMatch(/^18\.3\./);
    expect(reactDom).toMatch(/^18\.3\./);
  });
});
