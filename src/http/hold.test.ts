import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

/** Every request that takes the service must give its snapshot hold back, whatever the outcome. */
describe("snapshot holds", () => {
  it("are released after successes and every kind of failure, on both fronts", async () => {
    const { app, service } = testApp();
    const bodies: Array<[string, unknown]> = [
      ["/v1/models/iris/predict", { inputs: [[5.1, 3.5, 1.4, 0.2]] }],
      ["/v1/models/iris/predict", "{not json"],
      ["/v1/models/nope/predict", { inputs: [[1, 2, 3, 4]] }],
      ["/v1/models/iris/versions/99/predict", { inputs: [[1, 2, 3, 4]] }],
      ["/v1/models/iris/predict", { inputs: [[1, 2, 3]] }],
      [
        "/v2/models/iris/infer",
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] },
      ],
      [
        "/v2/models/iris/infer",
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1] }] },
      ],
      ["/v2/models/nope/infer", { inputs: [] }],
    ];
    let held = 0;
    const hold = service.hold.bind(service);
    service.hold = () => {
      held++;
      return hold();
    };
    for (const [path, body] of bodies) await postJson(app, path, body);
    await app.request("/v2/models/iris");
    await app.request("/v2/models/iris/ready");
    await app.request("/v2/models/nope/ready");
    expect(held).toBeGreaterThanOrEqual(bodies.length);
    expect(service.held).toBe(0);
  });
});
