/**
 * A bounded byte ring for terminal scrollback: keeps the most recent `capacity`
 * bytes. Replay starts after the first newline once anything was dropped, so a
 * reconnecting terminal never begins in the middle of an escape sequence or a
 * multi-byte character.
 */
export class RingBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  /** Bumped by every change, so a saver can tell whether there is anything new to write. */
  version = 0;
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get byteLength(): number {
    return this.size;
  }

  push(data: Buffer): void {
    this.version++;
    if (data.length >= this.capacity) {
      this.chunks = [data.subarray(data.length - this.capacity)];
      this.size = this.capacity;
      this.dropped = true;
      return;
    }
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.capacity) {
      const head = this.chunks[0]!;
      const excess = this.size - this.capacity;
      if (head.length <= excess) {
        this.chunks.shift();
        this.size -= head.length;
      } else {
        this.chunks[0] = head.subarray(excess);
        this.size -= excess;
      }
      this.dropped = true;
    }
  }

  /** The kept bytes, trimmed to a line start if the beginning was dropped. */
  contents(): Buffer {
    const all = Buffer.concat(this.chunks, this.size);
    if (!this.dropped) return all;
    const nl = all.indexOf(0x0a);
    return nl < 0 ? Buffer.alloc(0) : all.subarray(nl + 1);
  }

  clear(): void {
    this.version++;
    this.chunks = [];
    this.size = 0;
    this.dropped = false;
  }
}
