/**
 * One live subscription's event stream: an async iterator that the hub pushes
 * into and Grafast pulls from — or, piped, a sink the hub's pushes go
 * straight to (the direct path: plugins/realtime-direct.ts). Its buffer is
 * bounded: past `maxQueued` undelivered events, `onOverflow` runs (the hub
 * closes the socket as a slow consumer) instead of growing memory.
 */
export class LiveStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private done = false;
  /** Where events go as they come, once pipeTo() was called. */
  private sink: ((value: T) => void) | null = null;

  constructor(
    private readonly maxQueued: number,
    private readonly onOverflow: () => void,
    private readonly onEnd: () => void,
  ) {}

  /** Queues an event; false when the stream has ended. */
  push(value: T): boolean {
    if (this.done) return false;
    if (this.sink) {
      this.sink(value);
      return true;
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
      return true;
    }
    if (this.queue.length >= this.maxQueued) {
      this.onOverflow();
      return false;
    }
    this.queue.push(value);
    return true;
  }

  /** From now on every event goes to `sink` at once, the queued ones first; next() then only reports the end. */
  pipeTo(sink: (value: T) => void): void {
    this.sink = sink;
    for (const value of this.queue.splice(0)) sink(value);
  }

  /** Ends the stream after the events already queued (the subscription completes). */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  get ended(): boolean {
    return this.done;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The client unsubscribed (or the socket closed): Grafast calls this. */
  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
