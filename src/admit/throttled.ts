import { addressKey } from '../auth/ip';

/**
 * The addresses this process has seen throttled for failed authentications, and until when (the
 * failure throttle in Redis said so). While an address is in here, a request from it with no
 * usable key is refused without a Redis call, and one with a key is authenticated before its
 * query is analysed: a throttled caller cannot make the server parse anything. Redis stays the
 * shared truth; this is only a shortcut, bounded in size (the oldest entries go first).
 */
export class ThrottledAddresses {
  private readonly untilMs = new Map<string, number>();

  /**
   * @param maxEntries addresses remembered at most (default 10000)
   * @param now the clock, injectable for tests
   */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the address is still throttled for, or 0. */
  retryAfterMs(ip: string): number {
    // Nobody throttled (the usual case): no need to parse the address (ipaddr.js, twice a request).
    if (this.untilMs.size === 0) return 0;
    const key = addressKey(ip);
    const until = this.untilMs.get(key);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.untilMs.delete(key);
    return Math.max(0, left);
  }

  note(ip: string, retryAfterMs: number): void {
    const key = addressKey(ip);
    this.untilMs.delete(key);
    this.untilMs.set(key, this.now() + retryAfterMs);
    if (this.untilMs.size > this.maxEntries) {
      const oldest = this.untilMs.keys().next();
      if (!oldest.done) this.untilMs.delete(oldest.value);
    }
  }
}
