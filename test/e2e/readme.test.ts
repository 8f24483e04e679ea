/**
 * README.md's shell examples, run exactly as printed against the gateway `npm start` starts
 * (config/gateway.yaml on ports 8080, 8081 and 8082), so the first page a newcomer reads cannot
 * drift from what the gateway does.
 *
 * Every ```sh / ```bash block is split into commands (a trailing `\` continues a line). The `#`
 * lines directly under a command, with no blank line between, are its expected output: compared
 * as parsed JSON (numbers within a tolerance, since the README rounds them) when they parse as
 * JSON, else as lines (in any order). `#` lines after a blank line describe the next command. `npm ...`
 * commands are skipped (the test starts the gateway itself, as `npm start` does: `node
 * dist/cli.js serve`), and so is `grpcurl`, which this machine does not have. It also checks that
 * the README, docs/ and the bench and models READMEs point only at documents users have, and so
 * do the code, tests, benches and deployment files (their comments, test names and results).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "dist/cli.js");
/** The listeners config/gateway.yaml opens, as the README's examples address them. */
const PORTS = [
  { port: 8080, host: "0.0.0.0", what: "HTTP" },
  { port: 8081, host: "0.0.0.0", what: "gRPC" },
  { port: 8082, host: "127.0.0.1", what: "admin" },
];
const SKIPPED = /^(npm|grpcurl)\s/;

/** One command of a README shell block and the output printed under it. */
interface Example {
  line: number;
  command: string;
  expected: string[];
}

/** Every command of every sh/bash block of `markdown`, in order. */
function examples(markdown: string): Example[] {
  const out: Example[] = [];
  const lines = markdown.split("\n");
  let inBlock = false;
  let current: Example | undefined;
  let continued = false;
  for (const [index, line] of lines.entries()) {
    if (!inBlock) {
      inBlock = /^```(sh|bash)\s*$/.test(line);
      continue;
    }
    if (/^```\s*$/.test(line)) {
      inBlock = false;
      current = undefined;
      continue;
    }
    if (continued && current !== undefined) {
      current.command += `\n${line}`;
      continued = line.endsWith("\\");
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === "") {
      current = undefined;
    } else if (trimmed.startsWith("#")) {
      current?.expected.push(trimmed.replace(/^# ?/, ""));
    } else {
      current = { line: index + 1, command: line, expected: [] };
      continued = line.endsWith("\\");
      out.push(current);
    }
  }
  return out;
}

/** Runs `command` through `sh -c` in the repo root. */
function run(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile("sh", ["-c", command], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

/** Fails unless `actual` has `expected`'s structure, with numbers equal within a tolerance. */
function expectClose(actual: unknown, expected: unknown, path = "$"): void {
  if (typeof expected === "number") {
    expect(typeof actual, `${path} is a number`).toBe("number");
    const tolerance = 1e-3 + 1e-3 * Math.abs(expected);
    expect(
      Math.abs((actual as number) - expected),
      `${path}: ${actual} vs ${expected}`,
    ).toBeLessThanOrEqual(tolerance);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} is an array`).toBe(true);
    const list = actual as unknown[];
    expect(list.length, `${path} length`).toBe(expected.length);
    for (const [i, item] of expected.entries()) expectClose(list[i], item, `${path}[${i}]`);
  } else if (typeof expected === "object" && expected !== null) {
    expect(
      typeof actual === "object" && actual !== null && !Array.isArray(actual),
      `${path} is an object`,
    ).toBe(true);
    const record = actual as Record<string, unknown>;
    expect(Object.keys(record).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected))
      expectClose(record[key], value, `${path}.${key}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Resolves when nothing listens on host:port; rejects with a message naming the port otherwise. */
function portFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", (err) =>
      fail(
        new Error(
          `port ${port} (${what}) on ${host} is taken (${err.message}): the README's examples ` +
            "need ports 8080, 8081 and 8082; stop whatever listens there and run this test again",
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => done()));
  });
}

const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
const all = examples(readme);
let gateway: ChildProcess | undefined;
const log: string[] = [];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  for (const { host, port, what } of PORTS) await portFree(host, port, what);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  delete env.INFERGATE_CONFIG;
  const child = spawn(process.execPath, [CLI, "serve"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  gateway = child;
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  // The admin listener (when configured) opens before gRPC, so gRPC's line means all are up.
  await new Promise<void>((ready, fail) => {
    const seen = new Set<string>();
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.push(line);
      const entry = parseJson(line);
      if (!entry.ok || typeof entry.value !== "object" || entry.value === null) return;
      const { msg, protocol } = entry.value as { msg?: unknown; protocol?: unknown };
      if (msg === "listening" && typeof protocol === "string") seen.add(protocol);
      if (seen.has("http") && seen.has("grpc")) ready();
    });
    child.once("exit", (code) =>
      fail(new Error(`the gateway exited ${code} before listening:\n${log.join("\n")}`)),
    );
  });
}, 30_000);

afterAll(async () => {
  const child = gateway;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
});

/** A pointer to a document users do not have (internal specs, the tracker's numbers). */
const CITATION = /\bSPEC\b|\bPROTOCOLS\b|\b[Ii]ssue #?\d+|\bissue targets?\b/g;

/** Every `path:line: match` of CITATION in a text file (binary files, e.g. ONNX models, have none). */
function citations(path: string): string[] {
  const bytes = readFileSync(path);
  if (bytes.includes(0)) return [];
  return bytes
    .toString("utf8")
    .split("\n")
    .flatMap((line, i) =>
      (line.match(CITATION) ?? []).map((m) => `${relative(ROOT, path)}:${i + 1}: ${m}`),
    );
}

describe("the user-facing docs", () => {
  // Users have only the repository: pointers must go to its own docs, not to internal documents.
  const pages = [
    "README.md",
    "bench/README.md",
    "models/README.md",
    ...readdirSync(resolve(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  it.each(pages)("%s cites no document users do not have", (page) => {
    expect(citations(resolve(ROOT, page))).toEqual([]);
  });
});

describe("the code, tests, benches and deployment files", () => {
  // Comments, test names and bench results are read by users too. External trackers' references
  // (e.g. triton#6920) do not match.
  const trees = ["src", "test", "bench", "scripts", "deploy", "config", ".ci", "protos", "models"];
  it.each(trees)("%s/ cites no document users do not have", (tree) => {
    const files = readdirSync(resolve(ROOT, tree), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => resolve(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap(citations)).toEqual([]);
  });

  it.each(["docker-compose.yml", "Dockerfile"])(
    "%s cites no document users do not have",
    (file) => {
      expect(citations(resolve(ROOT, file))).toEqual([]);
    },
  );
});

describe("README.md shell examples", () => {
  it("has examples with expected outputs", () => {
    expect(all.filter((e) => !SKIPPED.test(e.command)).length).toBeGreaterThan(10);
    expect(all.filter((e) => e.expected.length > 0).length).toBeGreaterThan(10);
  });

  for (const example of all) {
    const title = `line ${example.line}: ${example.command.split("\n")[0]}`;
    if (SKIPPED.test(example.command)) {
      it.skip(title, () => undefined);
      continue;
    }
    it(title, async () => {
      const result = await run(example.command);
      expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(0);
      if (example.expected.length === 0) return;
      const wanted = parseJson(example.expected.join("\n"));
      if (wanted.ok) {
        const got = parseJson(result.stdout);
        expect(got.ok, `output is JSON: ${result.stdout}`).toBe(true);
        if (got.ok) expectClose(got.value, wanted.value);
      } else {
        const lines = result.stdout
          .split("\n")
          .map((l) => l.trimEnd())
          .filter((l) => l !== "");
        // Sorted: header order is not part of what the README promises.
        expect(lines.sort()).toEqual([...example.expected].sort());
      }
    });
  }
});
