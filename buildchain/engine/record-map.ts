/**
 * A Map-like view of a plain object parsed from JSON: no copy when the state is loaded or
 * saved (a `new Map(Object.entries(...))` of 20 000 entries costs more than the JSON.parse).
 */

/** The Map methods the engine's caches use (a Map fits too). */
export interface MapLike<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): unknown;
  delete(key: string): boolean;
  [Symbol.iterator](): Iterator<[string, V]>;
}

export class RecordMap<V> implements MapLike<V> {
  private obj: Record<string, V>;

  /** Takes ownership of `obj` (its prototype is removed so that keys like `constructor` are safe). */
  constructor(obj: Record<string, V> = {}) {
    Object.setPrototypeOf(obj, null);
    this.obj = obj;
  }

  get(key: string): V | undefined {
    return this.obj[key];
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  set(key: string, value: V): this {
    this.obj[key] = value;
    return this;
  }

  delete(key: string): boolean {
    if (this.obj[key] === undefined) return false;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a dictionary by design
    delete this.obj[key];
    return true;
  }

  clear(): void {
    this.obj = Object.create(null) as Record<string, V>;
  }

  keys(): string[] {
    return Object.keys(this.obj);
  }

  *[Symbol.iterator](): Iterator<[string, V]> {
    for (const k of Object.keys(this.obj)) {
      const v = this.obj[k];
      if (v !== undefined) yield [k, v];
    }
  }

  /** The underlying object, for JSON.stringify. */
  toJSON(): Record<string, V> {
    return this.obj;
  }
}
