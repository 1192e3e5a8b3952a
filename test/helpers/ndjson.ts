/** Parsing the JSON reporter's output (one event per line). */

/** A reporter event as parsed from JSON (fields depend on `event`). */
export interface JsonEvent {
  readonly event: string;
  readonly task?: string;
  readonly reason?: string;
  readonly reasons?: string[];
  readonly [key: string]: unknown;
}

export function parseNdjson(text: string): JsonEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

/** Names of tasks with an event of this kind (and, for `skip`, this reason). */
export function tasksWith(events: readonly JsonEvent[], event: string, reason?: string): string[] {
  return events
    .filter((e) => e.event === event && (reason === undefined || e.reason === reason))
    .map((e) => e.task ?? '');
}

/** The one event of this kind for this task (throws when absent). */
export function eventOf(events: readonly JsonEvent[], event: string, task?: string): JsonEvent {
  const found = events.find((e) => e.event === event && (task === undefined || e.task === task));
  if (found === undefined)
    throw new Error(
      `no ${event} event${task !== undefined ? ` for ${task}` : ''} in:\n${JSON.stringify(events, null, 1)}`,
    );
  return found;
}
