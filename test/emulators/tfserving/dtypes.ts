/** onnxruntime element types <-> TensorFlow DataTypes, with TensorFlow's names for messages. */

/** onnxruntime element type -> TF DataType enum name. */
export const DT_OF_ORT: Readonly<Record<string, string>> = {
  float32: "DT_FLOAT",
  float64: "DT_DOUBLE",
  int8: "DT_INT8",
  int16: "DT_INT16",
  int32: "DT_INT32",
  int64: "DT_INT64",
  uint8: "DT_UINT8",
  uint16: "DT_UINT16",
  uint32: "DT_UINT32",
  uint64: "DT_UINT64",
  bool: "DT_BOOL",
  string: "DT_STRING",
  float16: "DT_HALF",
};

/** TF DataType enum name -> onnxruntime element type. */
export const ORT_OF_DT: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(DT_OF_ORT).map(([ort, dt]) => [dt, ort]),
);

/** DataTypeString(): TensorFlow's short names (`float`, `half`, ...). */
export function dtName(dt: string): string {
  const names: Record<string, string> = {
    DT_FLOAT: "float",
    DT_DOUBLE: "double",
    DT_HALF: "half",
    DT_BFLOAT16: "bfloat16",
    DT_STRING: "string",
  };
  return names[dt] ?? dt.replace(/^DT_/, "").toLowerCase();
}

/** Bytes per element in tensor_content (0 = not allowed: DT_STRING). */
export const CONTENT_SIZE: Readonly<Record<string, number>> = {
  DT_FLOAT: 4,
  DT_DOUBLE: 8,
  DT_INT8: 1,
  DT_INT16: 2,
  DT_INT32: 4,
  DT_INT64: 8,
  DT_UINT8: 1,
  DT_UINT16: 2,
  DT_UINT32: 4,
  DT_UINT64: 8,
  DT_BOOL: 1,
  DT_HALF: 2,
  DT_BFLOAT16: 2,
};

/** A typed array of `count` elements for a dtype's onnxruntime storage. */
export function storageFor(
  dt: string,
  count: number,
):
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array {
  switch (dt) {
    case "DT_FLOAT":
      return new Float32Array(count);
    case "DT_DOUBLE":
      return new Float64Array(count);
    case "DT_INT8":
      return new Int8Array(count);
    case "DT_INT16":
      return new Int16Array(count);
    case "DT_INT32":
      return new Int32Array(count);
    case "DT_INT64":
      return new BigInt64Array(count);
    case "DT_UINT16":
    case "DT_HALF":
    case "DT_BFLOAT16":
      return new Uint16Array(count);
    case "DT_UINT32":
      return new Uint32Array(count);
    case "DT_UINT64":
      return new BigUint64Array(count);
    default:
      return new Uint8Array(count);
  }
}
