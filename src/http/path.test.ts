import { describe, expect, it } from "vitest";
import { normalizeTarget } from "./path.js";

const target = (raw: string) => {
  const result = normalizeTarget(raw);
  return result.ok ? result.target : `refused: ${result.reason}`;
};

describe("normalizeTarget", () => {
  it("leaves ordinary targets as they are", () => {
    for (const raw of ["/", "/v1/predict", "/v2/models/iris/versions/1/infer", "/healthz?x=1"])
      expect(target(raw)).toBe(raw);
  });

  it("decodes escaped unreserved characters, and keeps other escapes (upper-cased)", () => {
    expect(target("/%61dmin/reload")).toBe("/admin/reload");
    expect(target("/%41%7e%2d%2E%5F")).toBe("/A~-._");
    expect(target("/v2/models/a%20b%3a")).toBe("/v2/models/a%20b%3A");
  });

  it("resolves dot segments, never above the root", () => {
    expect(target("/x/../admin/reload")).toBe("/admin/reload");
    expect(target("/./admin/./reload")).toBe("/admin/reload");
    expect(target("/../../admin")).toBe("/admin");
    expect(target("/x/%2e%2E/admin")).toBe("/admin");
    expect(target("/admin/routes/..")).toBe("/admin/");
    expect(target("/admin/.")).toBe("/admin/");
    expect(target("/v1/models/a.b/predict")).toBe("/v1/models/a.b/predict");
  });

  it("merges runs of slashes", () => {
    expect(target("//admin///reload")).toBe("/admin/reload");
    expect(target("/v1//predict?a=//b")).toBe("/v1/predict?a=//b");
  });

  it("keeps the query untouched", () => {
    expect(target("/x/../healthz?p=/../%2F")).toBe("/healthz?p=/../%2F");
  });

  it("refuses encoded slashes, backslashes, malformed escapes and non-path targets", () => {
    expect(target("/admin%2freload")).toBe("refused: encoded slash or backslash in path");
    expect(target("/admin%5Creload")).toBe("refused: encoded slash or backslash in path");
    expect(target("/admin\\reload")).toBe("refused: backslash in path");
    expect(target("/admin/%zzreload")).toBe("refused: malformed percent-encoding");
    expect(target("/admin/%2")).toBe("refused: malformed percent-encoding");
    expect(target("http://evil/admin/reload")).toBe("refused: request target must be a path");
    expect(target("*")).toBe("refused: request target must be a path");
  });
});
