/**
 * Durations of a request's phases as a `Server-Timing` header (`chat;dur=3.1, count;dur=2.0, …`): each `mark`
 * closes the phase since the previous one. Browsers' dev tools show it; `npm run bench -- chat` prints it.
 */
export class ServerTiming {
  private last = performance.now();
  private readonly phases: Array<[string, number]> = [];

  mark(name: string): void {
    const now = performance.now();
    this.phases.push([name, now - this.last]);
    this.last = now;
  }

  header(): string {
    return this.phases.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(', ');
  }
}
