/** A counting semaphore with a FIFO queue; `waiting` tells a caller its position. */
export class Semaphore {
  private available: number;
  private readonly queue: (() => void)[] = [];

  constructor(size: number) {
    this.available = size;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.available++;
  }
}
