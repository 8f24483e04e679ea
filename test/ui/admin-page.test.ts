/**
 * The admin page in a real browser against a real gateway: the page shows the routing table and a
 * weight change made on it reroutes requests; a breaker opened by a failing backend shows as open;
 * an async job shows up with its status; a batch started from the page completes and its output
 * downloads (when the gateway has the batches API). With UPDATE_SCREENSHOTS=1 the screenshots
 * are written to docs/images/ui-*.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { tempJobsDir, until } from "../jobs/helpers.js";
import { chromiumAvailable, launchChromium } from "./browser.js";

// The docs' screenshots are rewritten only on request (`UPDATE_SCREENSHOTS=1 npx vitest run
// test/ui`), so a test run leaves the work tree clean; otherwise they go to a temp dir.
const IMAGES = process.env.UPDATE_SCREENSHOTS
  ? resolve(import.meta.dirname, "../../docs/images")
  : mkdtempSync(join(tmpdir(), "infergate-ui-shots-"));
const INPUT = { inputs: [[5.1, 3.5, 1.4, 0.2]] };
const enabled = chromiumAvailable();

let runner: ModelRunner;
let failing: EmulatorControl;
let gw: TestGateway;
let admin: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!enabled) return;
  runner = await ModelRunner.load(MODELS_DIR);
  failing = await startTritonEmulator({ runner, rest: false });
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, adminPort: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
  failing: { type: triton, grpc: "${failing.grpcAddress}" }
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    labels: { stable: "1", canary: "2" }
    traffic: [{ version: "1", weight: 100 }]
  scorer:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    default: "1"
    shadow: { version: "2", percent: 100 }
  checkout:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    rollout: { from: "1", to: "2", steps: [10, 50, 100], intervalSeconds: 300, minRequests: 1000 }
  shaky:
    versions:
      "1": { backend: failing, model: iris }
    retry: { attempts: 0 }
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600000 }
jobs:
  dir: ${tempJobsDir()}
`);
  admin = `http://127.0.0.1:${gw.adminPort}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${admin}/ui/`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await failing?.close();
  await runner?.close();
});

/** Unversioned predicts of iris, and the versions that answered them. */
async function irisAnsweredBy(n: number): Promise<Set<string | null>> {
  const seen = new Set<string | null>();
  for (let i = 0; i < n; i++) {
    const res = await postJson(`${gw.url}/v1/models/iris/predict`, INPUT);
    expect(res.status).toBe(200);
    seen.add(res.headers.get("x-infergate-version"));
  }
  return seen;
}

describe.skipIf(!enabled)("admin page", () => {
  it("shows the routing table, and a confirmed weight change reroutes requests", async () => {
    expect(await irisAnsweredBy(5)).toEqual(new Set(["1"]));
    const card = page.locator('.model[data-model="iris"]');
    await card.locator(".split").getByText("v1 100%").waitFor();
    await expect(card.locator(".labels").textContent()).resolves.toContain("canary → v2");

    await card.getByRole("button", { name: "Change weights" }).click();
    await card.locator('input[data-version="1"]').fill("0");
    await card.locator('input[data-version="2"]').fill("100");
    await card.getByRole("button", { name: "Apply…" }).click();
    // Nothing changes before the confirmation.
    expect(await irisAnsweredBy(3)).toEqual(new Set(["1"]));
    await card.getByRole("button", { name: "Confirm" }).click();
    await card.locator(".split").getByText("v2 100%").waitFor();

    expect(await irisAnsweredBy(5)).toEqual(new Set(["2"]));
    const routes = (await (await fetch(`${admin}/admin/routes`)).json()) as {
      models: { iris: { traffic: { source: string } } };
    };
    expect(routes.models.iris.traffic.source).toBe("runtime");
  });

  it("shows a breaker opened by a failing backend as open", async () => {
    failing.setMode({ kind: "unavailable" });
    for (let i = 0; i < 4; i++) await postJson(`${gw.url}/v1/models/shaky/predict`, INPUT);
    const row = page.locator('#breakers tr[data-model="shaky"]');
    await row.locator(".state").getByText("open", { exact: true }).waitFor({ timeout: 10_000 });
    const version = page.locator('.model[data-model="shaky"] tr[data-version="1"] .breaker');
    await version.getByText("open", { exact: true }).waitFor();
  });

  it("lists an async job with its status", async () => {
    const res = await postJson(`${gw.url}/v1/models/iris/async/predict`, INPUT);
    expect(res.status).toBe(202);
    const id = (res.body as { id: string }).id;
    const row = page.locator(`#jobs tr[data-job="${id}"]`);
    await row.locator(".status").getByText("succeeded").waitFor({ timeout: 10_000 });
    await expect(row.textContent()).resolves.toContain("iris");
  });

  it("shows a rollout's step and canary weight, and the shadow's agreement", async () => {
    const rollout = page.locator('.model[data-model="checkout"] .rollout');
    await rollout.getByText("progressing").waitFor();
    await expect(rollout.textContent()).resolves.toContain("step 1, canary 10%");
    for (let i = 0; i < 5; i++) await postJson(`${gw.url}/v1/models/scorer/predict`, INPUT);
    // Both versions are the same model: every compared row agrees.
    const row = page.locator('#shadow tr[data-model="scorer"]');
    await row.getByText("100.0%").waitFor({ timeout: 10_000 });
  });

  it("charts the per-model request rate from the gateway's own time series", async () => {
    // Steady traffic, still flowing when the screenshots are taken.
    let flowing = true;
    const traffic = (async () => {
      while (flowing) {
        await irisAnsweredBy(5);
        await postJson(`${gw.url}/v1/models/scorer/predict`, INPUT);
        await postJson(`${gw.url}/v1/models/checkout/predict`, INPUT);
      }
    })();
    try {
      await until(async () => {
        const body = (await (await fetch(`${admin}/admin/timeseries?seconds=20`)).json()) as {
          models: Record<string, { rate: number[] }>;
        };
        // Eight seconds with traffic, so the charts show a trend.
        return (body.models.checkout?.rate ?? []).filter((r) => r > 0).length >= 8;
      });
      const iris = page.locator('#charts .model-charts[data-model="iris"]');
      await until(async () => (await iris.locator("canvas").count()) === 2, 10_000);
      // The page's "now" figure is the last sampled second: not zero while traffic flows.
      await iris
        .locator("h3")
        .getByText(/^[1-9][\d.]* req\/s now$/)
        .waitFor({ timeout: 10_000 });
      mkdirSync(IMAGES, { recursive: true });
      await page.screenshot({ path: `${IMAGES}/ui-overview.png`, fullPage: true });
      await page.locator("#routing").screenshot({ path: `${IMAGES}/ui-routing.png` });
      await page.locator("#charts").screenshot({ path: `${IMAGES}/ui-charts.png` });
      expect(statSync(`${IMAGES}/ui-overview.png`).size).toBeGreaterThan(10_000);
    } finally {
      flowing = false;
      await traffic;
    }
  });

  it("starts a batch from an uploaded file, shows it complete and downloads its output", async (ctx) => {
    const probe = await fetch(`${admin}/v1/batches`);
    if (probe.status === 404) {
      await page.locator("#batches [data-unavailable]").waitFor();
      ctx.skip("this gateway has no /v1/batches (the batches API): the page shows it unavailable");
      return;
    }
    const file = resolve(tempJobsDir(), "ui-records.jsonl");
    const lines = [1, 2, 3].map((id) => JSON.stringify({ id, inputs: INPUT.inputs }));
    await import("node:fs/promises").then((fs) => fs.writeFile(file, `${lines.join("\n")}\n`));
    const form = page.locator("#batches form.start-batch");
    await form.locator('input[type="file"]').setInputFiles(file);
    await form.locator('select[name="model"]').selectOption("iris");
    await form.getByRole("button", { name: "Start batch" }).click();
    const started = form.locator(".message");
    await started.getByText("Started").waitFor({ timeout: 10_000 });
    const id = (await started.textContent())?.replace("Started ", "").trim() ?? "";
    const row = page.locator(`#batches tr[data-batch="${id}"]`);
    await row.locator(".status").getByText("succeeded").waitFor({ timeout: 20_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      row.locator("a.download.output").click(),
    ]);
    const saved = await download.path();
    const output = readFileSync(saved, "utf8").trim().split("\n");
    expect(output.map((l) => (JSON.parse(l) as { id: unknown }).id)).toEqual(["1", "2", "3"]);
    await page.locator("#batches").screenshot({ path: `${IMAGES}/ui-batches.png` });
  });
});
