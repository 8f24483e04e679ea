/**
 * The canonical tensor module: datatype facts, JSON and raw codecs, FP16/BF16 conversion and the
 * batcher's concat/split. Every function throws InvalidRequestError (src/errors.ts) for bad client
 * input. Implementations live in the files named below; this file only re-exports them.
 */

export { concatDim0, splitDim0 } from "./batch.js";

export {
  byteView,
  checkDatatype,
  checkShape,
  elementCount,
  elementSize,
  emptyData,
  type FixedData,
  type FixedDatatype,
  formatShape,
  INT64_RANGES,
  INTEGER_RANGES,
  isDatatype,
  MAX_EMPTY_ROWS,
  MAX_RANK,
  tensorByteLength,
} from "./datatype.js";
export { bf16ToNumber, fp16ToNumber, numberToBf16, numberToFp16 } from "./half.js";
export { CHUNK_ELEMENTS, flatJsonText, tensorJsonText } from "./json-chunks.js";
export { tensorFromJsonData, tensorFromNested } from "./json-in.js";
export { needsExactJson, tensorToFlatJson, tensorToNested } from "./json-out.js";
export { type JsonScan, scanJson } from "./json-scan.js";
export {
  JsonSyntaxError,
  nestedJsonText,
  parseJsonExact,
  parseJsonSlow,
  stringifyExact,
} from "./json-text.js";
export {
  checkOutputBytes,
  DEFAULT_LIMITS,
  DecodeBudget,
  type DecodeLimits,
  RequestTooLargeError,
} from "./limits.js";
export { binaryBody, tensorFromRaw, tensorToRaw } from "./raw.js";
export * from "./types.js";
