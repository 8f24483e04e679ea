/**
 * KServe v2's binary tensor extension: a body with binary tensors is the JSON part followed by the
 * raw bytes, and this header gives the JSON part's byte length. The v2 REST front reads and writes
 * it; the Triton backend writes and reads it on the other side.
 */
export const INFERENCE_HEADER = "inference-header-content-length";
