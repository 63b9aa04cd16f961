/**
 * Splits a stream from a sandbox into lines, refusing any line longer than a cap.
 * The learner owns everything that answers inside their sandbox (they can move the
 * engine socket aside and serve their own `docker events`), so a stream may carry
 * one 100 MB line: joining it chunk by chunk costs the square of its length on the
 * event loop, for everyone. Past the cap the reader stops; the caller drops the stream.
 */
export class CappedLines {
  private partial = '';
  private over = false;
  private readonly maxLine: number;
  private readonly onLine: (line: string) => void;

  constructor(maxLine: number, onLine: (line: string) => void) {
    this.maxLine = maxLine;
    this.onLine = onLine;
  }

  /** Feeds a chunk; returns false (now and after) once a line went past the cap. */
  push(chunk: Buffer): boolean {
    if (this.over) return false;
    const text = chunk.toString('utf8');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (this.partial.length + nl - start > this.maxLine) return this.refuse();
      this.onLine(this.partial + text.slice(start, nl));
      this.partial = '';
      start = nl + 1;
    }
    if (this.partial.length + text.length - start > this.maxLine) return this.refuse();
    this.partial += text.slice(start);
    return true;
  }

  private refuse(): false {
    this.over = true;
    this.partial = '';
    return false;
  }
}
