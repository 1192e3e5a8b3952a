/** Closest-name suggestions for unknown tasks and keys (Levenshtein distance). */

/** Edit distance between two strings, O(len(a) * len(b)). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * Up to `max` candidates close to `name`: those containing it, then those within an edit
 * distance of a third of its length (at least 2), closest first.
 */
export function closestNames(name: string, candidates: readonly string[], max = 3): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  const scored: { n: string; d: number }[] = [];
  for (const c of candidates) {
    // Skip expensive distances for names of very different lengths.
    if (Math.abs(c.length - name.length) > limit && !c.toLowerCase().includes(lower)) continue;
    const d = c.toLowerCase().includes(lower) ? 0 : editDistance(lower, c.toLowerCase());
    if (d <= limit) scored.push({ n: c, d });
  }
  scored.sort((x, y) => x.d - y.d || x.n.localeCompare(y.n));
  return scored.slice(0, max).map((s) => s.n);
}
