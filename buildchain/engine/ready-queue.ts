/**
 * The scheduler's queue of ready tasks: the task that unblocks the most work first (its
 * weight, below), in the order they became ready among equals. The RPM restores and the
 * download (on which every repository, the closure check and the ISO wait) then start as
 * soon as they can and overlap a crowd of image pulls instead of queueing behind all of them.
 */

/** Weights stop growing here (a lattice of diamonds doubles them at each level). */
const MAX_WEIGHT = 2 ** 40;

/**
 * The weight of each of `names`: 1 + the weights of the tasks among them that depend on it
 * (so a task many others wait on, directly or not, weighs more; a path through a diamond
 * counts twice, which only favours fan-in further). `deps` gives a task's dependencies
 * (those outside `names` are ignored). Iterative: a chain of 10 000 tasks needs no deep stack.
 */
export function chainWeights(
  names: Iterable<string>,
  deps: (name: string) => readonly string[],
): Map<string, number> {
  const inSet = new Set(names);
  const rank = new Map<string, number>();
  // Post-order over deps: every task after its dependencies.
  const order: string[] = [];
  const seen = new Set<string>();
  for (const start of inSet) {
    if (seen.has(start)) continue;
    seen.add(start);
    const stack: [string, number][] = [[start, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [string, number];
      const ds = deps(top[0]);
      let pushed = false;
      while (top[1] < ds.length) {
        const d = ds[top[1]++] as string;
        if (inSet.has(d) && !seen.has(d)) {
          seen.add(d);
          stack.push([d, 0]);
          pushed = true;
          break;
        }
      }
      if (!pushed && top[1] >= ds.length) {
        stack.pop();
        order.push(top[0]);
      }
    }
  }
  // Dependents before their dependencies: each adds its weight to theirs.
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i] as string;
    const w = Math.min(MAX_WEIGHT, 1 + (rank.get(n) ?? 0));
    rank.set(n, w);
    for (const d of new Set(deps(n))) if (inSet.has(d)) rank.set(d, (rank.get(d) ?? 0) + w);
  }
  return rank;
}

/**
 * A binary heap of task names: highest weight first, then first in. Without weights (one
 * worker), a plain first-in first-out list.
 */
export class ReadyQueue {
  private readonly heap: { name: string; rank: number; seq: number }[] = [];
  private seq = 0;
  private readonly rankOf: ((name: string) => number) | undefined;
  /** The FIFO (no weights), and the index of its first entry. */
  private readonly fifo: string[] = [];
  private head = 0;

  constructor(rankOf?: (name: string) => number) {
    this.rankOf = rankOf;
  }

  get size(): number {
    return this.rankOf === undefined ? this.fifo.length - this.head : this.heap.length;
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i];
    const b = this.heap[j];
    if (a === undefined || b === undefined) return false;
    return a.rank !== b.rank ? a.rank > b.rank : a.seq < b.seq;
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i];
    const u = this.heap[j];
    if (t === undefined || u === undefined) return;
    this.heap[i] = u;
    this.heap[j] = t;
  }

  push(name: string): void {
    if (this.rankOf === undefined) {
      this.fifo.push(name);
      return;
    }
    this.heap.push({ name, rank: this.rankOf(name), seq: this.seq++ });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): string | undefined {
    if (this.rankOf === undefined) {
      if (this.head === this.fifo.length) return undefined;
      const name = this.fifo[this.head++];
      // Drop the consumed half now and then (a long run pushes and pops many names).
      if (this.head > 1024 && this.head * 2 > this.fifo.length) {
        this.fifo.splice(0, this.head);
        this.head = 0;
      }
      return name;
    }
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top?.name;
    this.heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.heap.length && this.before(l, best)) best = l;
      if (r < this.heap.length && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top.name;
  }
}
