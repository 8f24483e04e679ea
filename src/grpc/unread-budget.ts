/**
 * The bytes of answers the gRPC front has queued and clients have not read yet, per connection
 * and all connections together, against `server.grpc.maxUnreadResponseBytes` and
 * `maxUnreadResponseBytesTotal` (docs/grpc.md "A client that does not read").
 */

/** The two limits. */
export interface UnreadLimits {
  perConnection: number;
  total: number;
}

/**
 * Admits a call's bytes against both limits, or says why not. An answer is always admitted when
 * nothing is held (on its connection, or at all), so the limits bound what piles up without
 * refusing an answer only for being large: `grpcMaxMessageBytes` is the limit for that.
 */
export class UnreadBudget<Connection extends object> {
  private readonly byConnection = new WeakMap<Connection, number>();
  private totalBytes = 0;

  constructor(private readonly limits: UnreadLimits) {}

  /** Bytes held on `connection` now. */
  held(connection: Connection): number {
    return this.byConnection.get(connection) ?? 0;
  }

  /** Bytes held on every connection together. */
  get total(): number {
    return this.totalBytes;
  }

  /** Why `bytes` more on `connection` would pass a limit, or undefined when they fit. */
  check(connection: Connection, bytes: number): string | undefined {
    const held = this.held(connection);
    if (held > 0 && held + bytes > this.limits.perConnection) {
      return `connection holds ${held} bytes of unread answers; this call's ${bytes} would pass maxUnreadResponseBytes (${this.limits.perConnection})`;
    }
    if (this.totalBytes > 0 && this.totalBytes + bytes > this.limits.total) {
      return `the gateway holds ${this.totalBytes} bytes of unread answers; this call's ${bytes} would pass maxUnreadResponseBytesTotal (${this.limits.total})`;
    }
    return undefined;
  }

  /** Takes `bytes` for a call on `connection`; a refusal message when it would pass a limit. */
  admit(connection: Connection, bytes: number): string | undefined {
    const refusal = this.check(connection, bytes);
    if (refusal !== undefined) return refusal;
    this.byConnection.set(connection, this.held(connection) + bytes);
    this.totalBytes += bytes;
    return undefined;
  }

  /** Gives back `bytes` admitted for `connection` (its call's stream closed). */
  release(connection: Connection, bytes: number): void {
    if (bytes === 0) return;
    this.byConnection.set(connection, this.held(connection) - bytes);
    this.totalBytes -= bytes;
  }
}
