/** One stage of a request and the milliseconds it took. */
export interface Stage {
  name: string;
  ms: number;
}

/**
 * Milliseconds per stage of one request, for the benchmark's breakdown of a miss (`Server-Timing`,
 * sent only when `BENCH_ROUTES` is "true"). A stage ends at each `lap`; the Workers clock advances
 * only across I/O, which is where every stage measured here ends.
 */
export class StageClock {
  readonly stages: Stage[] = [];
  private last = Date.now();

  /** Ends the stage `name` now: it lasted since the previous lap (or since the clock was made). */
  lap(name: string): void {
    const now = Date.now();
    this.stages.push({ name, ms: now - this.last });
    this.last = now;
  }

  /** Adds stages measured elsewhere (e.g. inside a Durable Object), their names under `prefix`. */
  add(prefix: string, stages: readonly Stage[]): void {
    for (const { name, ms } of stages) this.stages.push({ name: `${prefix}${name}`, ms });
  }
}

export const SERVER_TIMING = 'Server-Timing';

/** The `Server-Timing` header's value (W3C Server Timing): `name;dur=ms, …`. */
export const serverTiming = (stages: readonly Stage[]): string => stages.map(({ name, ms }) => `${name};dur=${ms}`).join(', ');
