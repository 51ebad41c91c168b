import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runInContext } from "node:vm";
import { browserBundle as bundleForBrowser, noEvalRealm } from "@lifeline/test-support";
import { describe, expect, test } from "vitest";
import { VALIDATORS_PATH, validatorsSource } from "../scripts/generate-validators.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const generatedPath = fileURLToPath(new URL(`../${VALIDATORS_PATH}`, import.meta.url));
const protocolEntry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const ajvEntry = fileURLToPath(new URL("../src/ajv.ts", import.meta.url));
const msgpackEntry = fileURLToPath(new URL("../src/msgpack.ts", import.meta.url));

const browserBundle = (contents: string) => bundleForBrowser(contents, packageRoot);

describe("src/generated/validators.ts", () => {
  test("is up to date (run `pnpm --filter @lifeline/protocol schema`)", () => {
    expect(readFileSync(generatedPath, "utf8")).toBe(validatorsSource());
  });

  test("evaluates no code and needs nothing but the pattern matchers", () => {
    const text = readFileSync(generatedPath, "utf8");
    expect(text).not.toMatch(/\bnew Function\b|\bFunction\(|\beval\(|\brequire\(/);
    const imports = [...text.matchAll(/^import .* from "(.*)";$/gm)].map((m) => m[1]);
    expect(imports).toEqual(["../patterns.js"]);
  });
});

describe("under a Content-Security-Policy without 'unsafe-eval'", () => {
  test("the realm refuses to evaluate strings (the condition holds)", () => {
    const realm = noEvalRealm();
    expect(() => runInContext("new Function('return 1')()", realm)).toThrow(/disallowed/);
    expect(() => runInContext("eval('1')", realm)).toThrow(/disallowed/);
  });

  test("Ajv's run-time compiler fails there, which is why the codec does not use it", async () => {
    const { code } = await browserBundle(
      `export { compile } from ${JSON.stringify(ajvEntry)};
       export { Type } from "@sinclair/typebox";`,
    );
    const realm = noEvalRealm();
    runInContext(code, realm);
    expect(() => runInContext("lifeline.compile(lifeline.Type.String())", realm)).toThrow(
      /disallowed/,
    );
  });

  test("the MessagePack codec encodes, decodes and refuses there", async () => {
    const { code } = await browserBundle(`export * from ${JSON.stringify(msgpackEntry)};`);
    expect(code).not.toMatch(/\bnew Function\b/);
    const realm = noEvalRealm();
    runInContext(code, realm);
    const run = (source: string): unknown => JSON.parse(String(runInContext(source, realm)));
    expect(
      run(`JSON.stringify(lifeline.parseClientMessagePack(lifeline.encodeMessagePack(
        {type:"publish",id:"p-1",topic:"a",data:{bytes:new Uint8Array([7])}})))`),
    ).toMatchObject({ ok: true, message: { type: "publish", data: { bytes: { 0: 7 } } } });
    expect(
      run("JSON.stringify(lifeline.parseClientMessagePack(new Uint8Array([0xc1])))"),
    ).toMatchObject({ ok: false, error: { code: "invalid_message" } });
  });

  test("the codec parses and refuses messages, and contracts check payloads", async () => {
    const { code } = await browserBundle(
      `export { defineContract, parseClientMessage, parseServerMessage } from ${JSON.stringify(protocolEntry)};
       export { Type } from "@sinclair/typebox";`,
    );
    const realm = noEvalRealm();
    runInContext(code, realm);
    const run = (source: string): unknown => JSON.parse(String(runInContext(source, realm)));
    expect(
      run(`JSON.stringify(lifeline.parseClientMessage(
        '{"type":"publish","id":"p-1","topic":"telescope/a/status","data":{"battery":80}}'))`),
    ).toMatchObject({ ok: true, message: { type: "publish", topic: "telescope/a/status" } });
    expect(
      run(`JSON.stringify(lifeline.parseClientMessage(
        '{"type":"subscribe","id":"s-1","topic":"a//b"}'))`),
    ).toMatchObject({ ok: false, error: { code: "invalid_message", path: "/topic", id: "s-1" } });
    expect(
      run(
        `JSON.stringify(lifeline.parseServerMessage('{"type":"response","id":"r-1","ok":true,"result":null}'))`,
      ),
    ).toMatchObject({ ok: true });
    expect(
      run(`
        const contract = lifeline.defineContract({
          topics: { "telescope/*/status": lifeline.Type.Object({ battery: lifeline.Type.Number() }) },
        });
        JSON.stringify([
          contract.checkTopicData("telescope/a/status", { battery: 80 }),
          contract.checkTopicData("telescope/a/status", { battery: "full" }),
        ])`),
    ).toEqual([
      { ok: true },
      {
        ok: false,
        issue: {
          path: "/battery",
          message: 'topic "telescope/a/status" data expects "battery" to be a number, got "full"',
        },
      },
    ]);
  });
});
