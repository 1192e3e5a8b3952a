import { afterAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('nginx', 'docker-registry');
const dirs: TempDir[] = [];

describe.skipIf(missing.length > 0)('loopback servers', () => {
  afterAll(async () => {
    await stopAll();
    await Promise.all(dirs.map((d) => d.cleanup()));
  });

  it('starts a registry answering /v2/ and stops it by pid', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    const reg = await startTestRegistry({ dir: dir.path });
    const res = await fetch(`http://${reg.address}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await reg.stop();
    await expect(fetch(`http://${reg.address}/v2/`)).rejects.toThrow();
    expect(() => process.kill(reg.pid, 0)).toThrow();
  });

  it('starts nginx with a private prefix', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    const ngx = await startTestNginx({
      dir: dir.path,
      serverBody: "location / { return 200 'hi'; }",
    });
    const res = await fetch(`http://${ngx.address}/`);
    expect(await res.text()).toBe('hi');
    await ngx.stop();
    expect(() => process.kill(ngx.pid, 0)).toThrow();
  });
});
