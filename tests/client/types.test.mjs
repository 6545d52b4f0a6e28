// The client's generics against a server's own types: what pulse-demo --emit-types writes is what
// the examples in tests/types/ are checked against, with TypeScript's compiler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { demoBinary } from "./support/demo_server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const examples = path.join(root, "tests/types");

/** Type-checks `files` against freshly generated channel types; diagnostics by file and line. */
function check(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulse-types-"));
  const channels = path.join(dir, "channels.d.ts");
  execFileSync(demoBinary, ["--emit-types", channels]);
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    jsx: ts.JsxEmit.ReactJSX,
    types: [],
    baseUrl: root,
    paths: {
      "@pulse/channels": [channels],
      "@pulse/client": ["client/index.d.ts"],
      "@pulse/client/react": ["client/react.d.ts"],
    },
  });
  const found = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? path.basename(d.file.fileName) : "(global)";
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const key = `${file}:${line}`;
    found.set(key, [...(found.get(key) ?? []), ts.flattenDiagnosticMessageText(d.messageText, "\n")]);
  }
  fs.rmSync(dir, { recursive: true });
  return found;
}

test("what the server declares type-checks, and each mistake is a type error", () => {
  const found = check([path.join(examples, "compiles.ts"), path.join(examples, "rejected.ts")]);
  const unexpected = [...found].filter(([key]) => !key.startsWith("rejected.ts:"));
  assert.deepEqual(unexpected, [], "compiles.ts type-checks");
  const lines = fs.readFileSync(path.join(examples, "rejected.ts"), "utf8").split("\n");
  const expected = new Map();
  lines.forEach((text, i) => {
    const match = text.match(/^\s*\/\/ error: (.*)$/);
    if (match) expected.set(`rejected.ts:${i + 2}`, match[1]);
  });
  assert.ok(expected.size >= 7, "rejected.ts has its expectations");
  for (const [key, wanted] of expected) {
    const messages = found.get(key) ?? [];
    assert.ok(messages.some((m) => m.includes(wanted)),
              `${key}: expected an error containing "${wanted}", got ${JSON.stringify(messages)}`);
  }
  const stray = [...found.keys()].filter((key) => key.startsWith("rejected.ts:") && !expected.has(key));
  assert.deepEqual(stray, [], "no other line of rejected.ts has an error");
});
