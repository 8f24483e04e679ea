import { describe, expect, it } from "vitest";
import { type Line, readLines } from "./lines.js";

async function lines(chunks: (string | Buffer)[], max = 1000): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(chunks, max)) out.push(line);
  return out;
}

describe("readLines", () => {
  it("keeps a UTF-8 character split across chunks whole, and strips CR before LF", async () => {
    const bytes = Buffer.from("héllo\r\nwörld\n");
    const parts = [bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)];
    expect(await lines(parts)).toEqual([
      { line: 1, text: "héllo" },
      { line: 2, text: "wörld" },
    ]);
  });

  it("drops a line over the bound, even when it spans chunks, and goes on after it", async () => {
    expect(await lines(["ab", "cdef", "gh\nok\n", "x".repeat(7)], 5)).toEqual([
      { line: 1, tooLong: true },
      { line: 2, text: "ok" },
      { line: 3, tooLong: true },
    ]);
  });

  it("counts empty lines and a last line without a newline", async () => {
    expect(await lines(["a\n\n", "b"])).toEqual([
      { line: 1, text: "a" },
      { line: 2, text: "" },
      { line: 3, text: "b" },
    ]);
    expect(await lines([])).toEqual([]);
  });
});
