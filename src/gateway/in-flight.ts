/** Counts requests in flight and lets a caller wait, bounded, until none are left. */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Marks one request as started; call the returned function exactly once when it ends. */
  enter(): () => void {
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count--;
      if (this.count === 0) this.wake();
    };
  }

  /** Requests currently in flight. */
  get size(): number {
    return this.count;
  }

  /** Resolves true when no request is in flight, or false once `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
