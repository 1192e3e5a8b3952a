/**
 * node:http, node:https and node:tls, loaded on the first request: their internals cost a start
 * about 5 ms of CPU, which a command making no request (a no-op build) should not pay.
 * Synchronous (createRequire of the built-ins), as their callers are.
 */
import { createRequire } from 'node:module';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';

export interface NodeHttp {
  readonly http: typeof Http;
  readonly https: typeof Https;
  readonly tls: typeof Tls;
}

const nodeRequire = createRequire(import.meta.url);
let loaded: NodeHttp | undefined;

/** The three built-ins, loaded on the first call. */
export function nodeHttp(): NodeHttp {
  loaded ??= {
    http: nodeRequire('node:http') as typeof Http,
    https: nodeRequire('node:https') as typeof Https,
    tls: nodeRequire('node:tls') as typeof Tls,
  };
  return loaded;
}
