/** Moved to src/protocols/kserve/contents.ts; this alias keeps branches written against the old path building until they are merged. */
export * from "../protocols/kserve/contents.js";
