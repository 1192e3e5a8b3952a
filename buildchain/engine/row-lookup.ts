/**
 * The row of a key in a column of keys saved in the order the next run asks for them (the
 * state's tasks and file records, see file-table.ts): a cursor tries the row after the last
 * one found first (one string comparison), then the last one found again, then, with `near`,
 * the rows that many either side of the cursor, and only then an index of every row, built on
 * that first miss. A removed row holds '' (never found). The answer is always the row of that
 * key, exactly.
 */
export class RowLookup {
  private index: Map<string, number> | undefined;
  private cursor = 0;

  /** `keys`: the column itself (rows added or removed through {@link added}, {@link removed}). */
  constructor(
    private readonly keys: readonly string[],
    private readonly near = 0,
  ) {}

  /** The row of `key`, or -1. */
  rowOf(key: string): number {
    const keys = this.keys;
    const c = this.cursor;
    if (c < keys.length && keys[c] === key) {
      this.cursor = c + 1;
      return c;
    }
    // The key looked up last, again (a record read, then replaced).
    if (c > 0 && keys[c - 1] === key) return c - 1;
    if (this.index === undefined && this.near > 0) {
      // Before any index: an order that differs by a few rows (e.g. a code module hashed between
      // a task's files).
      const end = Math.min(keys.length, c + this.near);
      for (let i = Math.max(0, c - this.near); i < end; i++)
        if (keys[i] === key) {
          this.cursor = i + 1;
          return i;
        }
    }
    const row = (this.index ?? this.build()).get(key);
    if (row === undefined) return -1;
    this.cursor = row + 1;
    return row;
  }

  /** Row `row` was just given `key` (the column already holds it). */
  added(key: string, row: number): void {
    (this.index ?? this.build()).set(key, row);
    this.cursor = row + 1;
  }

  /** `key`'s row was just removed. */
  removed(key: string): void {
    this.index?.delete(key);
  }

  private build(): Map<string, number> {
    const index = new Map<string, number>();
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (k !== '') index.set(k, i);
    }
    this.index = index;
    return index;
  }
}
