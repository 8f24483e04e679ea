/** Moved to src/protocols/load-proto.ts; this alias keeps branches written against the old path building until they are merged. */
export * from "../protocols/load-proto.js";
