/**
 * execa, loaded on first use: importing it costs about a quarter of a second, which a no-op
 * build (that runs no command) should not pay.
 */
export type ExecaModule = typeof import('execa');

let loading: Promise<ExecaModule> | undefined;

export function loadExeca(): Promise<ExecaModule> {
  loading ??= import('execa');
  return loading;
}
