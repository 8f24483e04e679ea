/**
 * Reads counters off a gateway's GET /metrics (Prometheus text), so a scenario can tell what the
 * gateway did during a cell — e.g. the batch sizes it sent — without touching its code.
 */

/** Sum of every sample of `name` whose labels include `labels` (e.g. `backend="triton"`). */
export async function metricSum(gatewayUrl: string, name: string, labels = ""): Promise<number> {
  const res = await fetch(`${gatewayUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== "" && !line.includes(labels)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Mean batch size the gateway sent to `backend` between two readings of sum and count. */
export async function batchReading(
  gatewayUrl: string,
  backend: string,
): Promise<{ sum: number; count: number }> {
  const label = `backend="${backend}"`;
  const [sum, count] = await Promise.all([
    metricSum(gatewayUrl, "infergate_batch_size_sum", label),
    metricSum(gatewayUrl, "infergate_batch_size_count", label),
  ]);
  return { sum, count };
}
