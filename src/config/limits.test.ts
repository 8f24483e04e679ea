import { describe, expect, it } from "vitest";
import { parseConfigText } from "./load.js";

const backends = "backends: { local: { type: onnx, modelDir: /tmp } }\n";

describe("limits the runtime depends on", () => {
  it("rejects durations Node timers cannot wait for (they would fire after 1 ms)", () => {
    const result = parseConfigText(`${backends}
server: { drainTimeoutMs: 3000000000 }
defaults: { timeoutMs: 3000000000 }
models: { m: { versions: { "1": { backend: local } }, timeoutMs: 2147483648 } }
`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^server\.drainTimeoutMs: /),
          expect.stringMatching(/^defaults\.timeoutMs: /),
          expect.stringMatching(/^models\.m\.timeoutMs: /),
        ]),
      );
    }
    expect(parseConfigText(`${backends}defaults: { timeoutMs: 2147483647 }\nmodels: {}`).ok).toBe(
      true,
    );
  });
});
