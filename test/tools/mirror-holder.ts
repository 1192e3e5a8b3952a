/**
 * Test helper process: starts the embedded sources of a fixture root, prints the server group
 * pids and addresses as one JSON line, then waits. Mode `cli` stops the sources on SIGINT/SIGTERM
 * as the CLI does; mode `bare` installs no handler (the process dies by the signal).
 */
import { runningServerPids } from '../../buildchain/sources/embedded/servers.ts';
import { createSources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';

const [root = '', mode = 'cli'] = process.argv.slice(2);
const sources = createSources(testConfig(root, {}, 'embedded'));

if (mode === 'cli') {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void sources.stop().finally(() => process.exit(130));
    });
  }
}

const registry = await sources.registry('quay.io');
const web = new URL(await sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/')).host;
process.stdout.write(
  JSON.stringify({ pids: runningServerPids(), registry: registry.host, web }) + '\n',
);
setInterval(() => undefined, 60_000);
