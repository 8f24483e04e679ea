import { describe, expect, it } from "vitest";
import { BodyCollector } from "./body-collector.js";

const KIB = 1024;

/** Feeds `body` to a collector in chunks of `size` bytes; returns what it gives back. */
function collect(body: Buffer, declared: string | undefined, size: number): Uint8Array {
  const collector = new BodyCollector(declared);
  for (let at = 0; at < body.length; at += size) collector.add(body.subarray(at, at + size));
  expect(collector.size).toBe(body.length);
  return collector.bytes();
}

function pattern(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 1) out[i] = (i * 7 + 3) % 251;
  return out;
}

describe("BodyCollector", () => {
  it("gives back exactly the bytes added, whatever the size, declaration and chunking", () => {
    for (const length of [0, 1, 1000, 64 * KIB, 64 * KIB + 1, 300 * KIB]) {
      const body = pattern(length);
      for (const chunk of [1000, 16 * KIB, 64 * KIB, 100 * KIB]) {
        for (const declared of [undefined, String(length), "not a number"]) {
          expect(
            Buffer.from(collect(body, declared, chunk)).equals(body),
            `${length}/${chunk}/${declared}`,
          ).toBe(true);
        }
      }
    }
  });

  it("keeps the bytes when more arrive than were declared", () => {
    const body = pattern(200 * KIB);
    expect(Buffer.from(collect(body, String(100 * KIB), 16 * KIB)).equals(body)).toBe(true);
  });

  it("moves a large declared body into one buffer of its size once past 64 KiB", () => {
    const collector = new BodyCollector(String(1024 * KIB));
    collector.add(pattern(64 * KIB));
    expect(collector.bytes().buffer.byteLength).toBeLessThan(1024 * KIB);
    collector.add(pattern(1));
    const bytes = collector.bytes();
    expect(bytes.byteLength).toBe(64 * KIB + 1);
    expect(bytes.buffer.byteLength).toBe(1024 * KIB);
  });

  it("returns a single small chunk without copying it", () => {
    const chunk = pattern(100);
    const collector = new BodyCollector("100");
    collector.add(chunk);
    expect(collector.bytes()).toBe(chunk);
  });
});
