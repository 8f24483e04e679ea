/**
 * A small Kustomize renderer for the subset deploy/kubernetes uses, so the manifests can be tested
 * where no kustomize or kubectl binary is installed: resources (files and directories),
 * configMapGenerator (files, no hash suffix), patches (strategic merge, by kind and name),
 * namespace, labels (metadata only) and images. Anything else in a kustomization.yaml throws, so
 * the renderer can never silently differ from kustomize on a feature it does not know.
 * test/deploy/kubernetes-render.test.ts compares it with `kubectl kustomize` where that exists.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

/** A Kubernetes object as rendered: plain JSON values. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

const SUPPORTED = new Set([
  "apiVersion",
  "kind",
  "resources",
  "configMapGenerator",
  "patches",
  "namespace",
  "labels",
  "images",
]);
/** Kinds the namespace transformer leaves alone (cluster-scoped). */
const CLUSTER_SCOPED = new Set(["Namespace"]);

/** Renders the kustomization in `dir` into its objects, in resource order. */
export function renderKustomization(dir: string): KObject[] {
  const k = asMap(parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")), dir);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization key ${key} is not supported`);
  }
  const objects: KObject[] = [];
  for (const entry of list(k.resources)) {
    const path = join(dir, String(entry));
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readObjects(path)));
  }
  for (const gen of list(k.configMapGenerator)) objects.push(configMap(dir, asMap(gen, dir)));
  for (const patch of list(k.patches)) {
    const p = asMap(patch, dir);
    if (Object.keys(p).some((key) => key !== "path")) {
      throw new Error(`${dir}: only patches with a path are supported`);
    }
    for (const doc of readObjects(join(dir, String(p.path)))) applyPatch(objects, doc);
  }
  if (typeof k.namespace === "string") {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  for (const entry of list(k.labels)) {
    const { pairs, ...rest } = asMap(entry, dir);
    if (Object.values(rest).some((v) => v === true)) {
      throw new Error(`${dir}: labels with includeSelectors/includeTemplates are not supported`);
    }
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...stringMap(pairs) };
  }
  for (const image of list(k.images)) setImage(objects, asMap(image, dir));
  return objects;
}

function readObjects(path: string): KObject[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((doc) => doc.toJS() as unknown)
    .filter((o) => o !== null)
    .map((o) => o as KObject);
}

function configMap(dir: string, gen: JsonMap): KObject {
  const options = gen.options === undefined ? {} : asMap(gen.options, dir);
  if (options.disableNameSuffixHash !== true || Object.keys(options).length !== 1) {
    throw new Error(`${dir}: configMapGenerator needs options.disableNameSuffixHash alone`);
  }
  const data: Record<string, string> = {};
  for (const file of list(gen.files)) {
    data[basename(String(file))] = readFileSync(join(dir, String(file)), "utf8");
  }
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: String(gen.name) }, data };
}

function applyPatch(objects: KObject[], patch: KObject): void {
  const target = objects.find(
    (o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name,
  );
  if (target === undefined) throw new Error(`patch target ${patch.kind}/${patch.metadata.name}`);
  const merged = mergeStrategic(target as unknown as JsonMap, patch as unknown as JsonMap);
  Object.assign(target, merged);
  for (const key of Object.keys(target)) if (!(key in merged)) delete target[key];
}

/**
 * Strategic merge as kustomize applies it to the fields deploy/kubernetes patches: maps merge
 * key by key, null deletes, lists of objects that all have a `name` merge by name (containers,
 * volumes, ports), any other list is replaced.
 */
export function mergeStrategic(base: JsonMap, patch: JsonMap): JsonMap {
  const out: JsonMap = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(current)) out[key] = mergeStrategic(current, value);
    else if (Array.isArray(value) && Array.isArray(current) && byName(value) && byName(current)) {
      out[key] = mergeByName(current as JsonMap[], value as JsonMap[]);
    } else out[key] = value;
  }
  return out;
}

function mergeByName(base: JsonMap[], patch: JsonMap[]): JsonMap[] {
  const out = base.map((item) => {
    const p = patch.find((q) => q.name === item.name);
    return p === undefined ? item : mergeStrategic(item, p);
  });
  for (const p of patch) if (!base.some((item) => item.name === p.name)) out.push(p);
  return out;
}

function setImage(objects: KObject[], image: JsonMap): void {
  for (const o of objects) {
    const spec = podSpec(o);
    if (spec === undefined) continue;
    for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
      if (!isMap(c) || typeof c.image !== "string") continue;
      const [name, tag] = splitImage(c.image);
      if (name !== image.name) continue;
      const newName = typeof image.newName === "string" ? image.newName : name;
      if (typeof image.digest === "string") c.image = `${newName}@${image.digest}`;
      else {
        const newTag = image.newTag === undefined ? tag : String(image.newTag);
        c.image = newTag === undefined ? newName : `${newName}:${newTag}`;
      }
    }
  }
}

/** `name[:tag]` (a registry port's colon comes before the last slash). */
function splitImage(image: string): [string, string | undefined] {
  const at = image.indexOf("@");
  const ref = at === -1 ? image : image.slice(0, at);
  const colon = ref.lastIndexOf(":");
  if (colon === -1 || colon < ref.lastIndexOf("/")) return [ref, undefined];
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}

function podSpec(o: KObject): JsonMap | undefined {
  const spec = o.spec;
  if (!isMap(spec) || !isMap(spec.template) || !isMap(spec.template.spec)) return undefined;
  return spec.template.spec;
}

function isMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function byName(items: Json[]): boolean {
  return items.every((item) => isMap(item) && typeof item.name === "string");
}

function asMap(value: unknown, where: string): JsonMap {
  if (!isMap(value)) throw new Error(`${where}: expected a mapping`);
  return value;
}

function list(value: Json | undefined): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error("expected a list");
  return value;
}

function stringMap(value: Json | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(asMap(value, "labels.pairs")).map(([k, v]) => [k, String(v)]),
  );
}
