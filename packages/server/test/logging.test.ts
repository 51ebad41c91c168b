import { describe, expect, it } from "vitest";
import { redactUrl } from "../src/index.js";

describe("redactUrl", () => {
  it("replaces the token value wherever it appears", () => {
    expect(redactUrl("/ws?token=s3cret&client_id=a")).toBe("/ws?token=[redacted]&client_id=a");
    expect(redactUrl("/ws?client_id=a&token=s3cret")).toBe("/ws?client_id=a&token=[redacted]");
    expect(redactUrl("/ws?client_id=a&TOKEN=s3cret#x")).toBe("/ws?client_id=a&TOKEN=[redacted]#x");
    expect(redactUrl("/ws?client_id=a")).toBe("/ws?client_id=a");
    expect(redactUrl(undefined)).toBe("");
  });
});
