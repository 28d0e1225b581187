/**
 * A circuit breaker per GPU backend, per isolate: after `threshold` consecutive failures of the
 * backend (unreachable, timed out, 5xx) it opens for `openMs`, and calls fail at once with a
 * retryable `gpu_circuit_open` instead of waiting on a dead backend; the first call after that is
 * a trial that closes it on success or opens it again on failure.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(
    readonly threshold = 5,
    readonly openMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until a call may be tried, or 0 when it may be tried now. */
  retryInMs(): number {
    return Math.max(0, this.openUntil - this.now());
  }

  succeeded(): void {
    this.failures = 0;
    this.openUntil = 0;
  }

  failed(): void {
    this.failures += 1;
    if (this.failures >= this.threshold) this.openUntil = this.now() + this.openMs;
  }
}

const breakers = new Map<string, CircuitBreaker>();

/** The breaker of one backend URL, shared by every client in this isolate. */
export function breakerFor(baseUrl: string): CircuitBreaker {
  let breaker = breakers.get(baseUrl);
  if (!breaker) {
    breaker = new CircuitBreaker();
    breakers.set(baseUrl, breaker);
  }
  return breaker;
}
