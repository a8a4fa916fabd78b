/**
 * Calls `flush` once, `intervalMs` after the first `schedule()` since the last call: how
 * bookkeeping collected on the hot path (last use, usage counts) is written in batches.
 * Never keeps the process alive; `0` never fires (the owner flushes by hand).
 */
export class FlushTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly flush: () => void,
  ) {}

  schedule(): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
