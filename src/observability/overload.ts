import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';

/** The thresholds of load shedding and of the per-tenant in-flight limit (see config). */
export interface OverloadLimits {
  /** Requests in flight in the process at which queries are shed (SHED_READS_IN_FLIGHT). */
  readonly shedReadsInFlight: number;
  /** Requests in flight at which everything is shed (SHED_WRITES_IN_FLIGHT, ≥ the reads one). */
  readonly shedWritesInFlight: number;
  /** Sustained event-loop lag, in ms, at which queries are shed (SHED_READS_LAG_MS). */
  readonly shedReadsLagMs: number;
  /** Sustained event-loop lag, in ms, at which everything is shed (SHED_WRITES_LAG_MS). */
  readonly shedWritesLagMs: number;
  /** Requests one tenant may have in flight at once (TENANT_MAX_IN_FLIGHT); more get 429. */
  readonly tenantMaxInFlight: number;
}

/** What the process sheds now. */
export type ShedLevel = 'none' | 'reads' | 'all';

/** The kind of request being decided: a query (or anything not known to be a write) or a mutation. */
export type RequestKind = 'read' | 'write';

/**
 * Load shedding: past a threshold of requests in flight, or of sustained event-loop lag, the
 * process refuses new work at once (503 before any Redis call) instead of queueing it behind the
 * rest, where every request would wait longer and longer. Queries go first (a lower threshold):
 * they are retried cheaply and moving money matters more.
 */
export class LoadShedder {
  private inFlightNow = 0;

  constructor(
    private readonly limits: OverloadLimits,
    /** The sustained event-loop lag in ms (an {@link EventLoopLag} in production; tests pass a number). */
    private readonly lagMs: () => number,
  ) {}

  get inFlight(): number {
    return this.inFlightNow;
  }

  /** A request came in: count it until `release` (call it once, when its answer has ended). */
  enter(): () => void {
    this.inFlightNow += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlightNow -= 1;
    };
  }

  /** What is shed now, counting the requests already in flight (not the one being decided). */
  level(inFlight = this.inFlightNow): ShedLevel {
    const lag = this.lagMs();
    if (inFlight >= this.limits.shedWritesInFlight || lag >= this.limits.shedWritesLagMs) return 'all';
    if (inFlight >= this.limits.shedReadsInFlight || lag >= this.limits.shedReadsLagMs) return 'reads';
    return 'none';
  }

  /** Whether a request of this kind is shed; `inFlightBefore` is the count before it entered. */
  sheds(kind: RequestKind, inFlightBefore: number): boolean {
    const level = this.level(inFlightBefore);
    return level === 'all' || (level === 'reads' && kind === 'read');
  }
}

/**
 * Requests in flight per tenant: a tenant past its limit gets 429 CONCURRENCY_LIMITED, so one
 * tenant's slow or numerous requests cannot take every worker (the rate limiter counts requests
 * per second, not how long they hold the process). Counted after the admit step, which is when
 * the tenant is known.
 */
export class TenantInFlight {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** A release function when the tenant is under its limit (call it once at the answer's end), else null. */
  acquire(tenantId: string): (() => void) | null {
    const count = this.counts.get(tenantId) ?? 0;
    if (count >= this.max) return null;
    this.counts.set(tenantId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(tenantId) ?? 1) - 1;
      if (left <= 0) this.counts.delete(tenantId);
      else this.counts.set(tenantId, left);
    };
  }

  inFlight(tenantId: string): number {
    return this.counts.get(tenantId) ?? 0;
  }
}

/** How often `monitorEventLoopDelay` samples the loop, in ms. */
const RESOLUTION_MS = 10;

/**
 * Event-loop lag as the shedder reads it: Node's `monitorEventLoopDelay`, read every `windowMs`;
 * the lag is the lower p99 of the last two windows, so one long pause (a GC, a first compile)
 * sheds nothing, while lag that lasts sheds within two windows.
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private previousMs = 0;
  private lastMs = 0;

  constructor(windowMs = 500, private readonly onSample: (lagMs: number) => void = () => undefined) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), windowMs);
    this.timer.unref();
  }

  private sample(): void {
    this.previousMs = this.lastMs;
    // The histogram records whole timer intervals: an idle loop reads about the resolution itself.
    this.lastMs = this.histogram.count > 0 ? Math.max(0, this.histogram.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
    this.histogram.reset();
    this.onSample(this.ms());
  }

  /** The sustained lag in ms. */
  ms(): number {
    return Math.min(this.previousMs, this.lastMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
