/**
 * A semaphore whose size can change while callers wait (the job throttle's allowance), and which
 * refuses everyone once closed.
 */
export class Permits {
  #size: number;
  #taken = 0;
  #closed = false;
  readonly #waiting: Array<(granted: boolean) => void> = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Changes the size; waiters are let in as far as it now allows. */
  resize(size: number): void {
    this.#size = size;
    this.#wake();
  }

  /** Resolves true with a permit, or false once closed. */
  acquire(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#taken < this.#size) {
      this.#taken++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    this.#taken--;
    this.#wake();
  }

  /** Refuses every waiter and every later acquire. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(false);
  }

  #wake(): void {
    while (!this.#closed && this.#taken < this.#size) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      this.#taken++;
      next(true);
    }
  }
}
