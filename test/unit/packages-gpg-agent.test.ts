import { describe, expect, it } from 'vitest';
import {
  gpgAgentPidArgs,
  gpgKillAgentArgs,
  isGpgAgentRunning,
} from '../../buildchain/tasks/packages/signing.ts';

describe('gpg-agent cleanup helpers', () => {
  it('asks the home agent for its pid without starting one', () => {
    expect(gpgAgentPidArgs({ connectAgentBin: 'gpg-connect-agent', gnupgHome: '/h' })).toEqual([
      'gpg-connect-agent',
      '--homedir',
      '/h',
      '--no-autostart',
      'GETINFO pid',
      '/bye',
    ]);
    expect(gpgAgentPidArgs({ connectAgentBin: 'gpg-connect-agent' })).toEqual([
      'gpg-connect-agent',
      '--no-autostart',
      'GETINFO pid',
      '/bye',
    ]);
  });

  it('reads a running agent from the pid answer only (the command exits 0 either way)', () => {
    expect(isGpgAgentRunning('D 17057\nOK\n')).toBe(true);
    expect(isGpgAgentRunning('')).toBe(false);
    expect(isGpgAgentRunning('ERR 67108922 No such file or directory\n')).toBe(false);
  });

  it('kills the agent of the given home', () => {
    expect(gpgKillAgentArgs({ gpgconfBin: '/usr/bin/gpgconf', gnupgHome: '/h' })).toEqual([
      '/usr/bin/gpgconf',
      '--homedir',
      '/h',
      '--kill',
      'gpg-agent',
    ]);
  });
});
