/** The strace output reader of `./doit.sh strace` (cli/strace.ts) on lines as strace 6 prints them. */
import { describe, expect, it } from 'vitest';
import { parseTrace, straceLines } from '../../buildchain/cli/strace.ts';

const TRACE = [
  '1764500000.000100 openat(AT_FDCWD, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3</usr/lib/x86_64-linux-gnu/libc.so.6>',
  '1764500000.000200 openat(AT_FDCWD, "src.txt", O_RDONLY) = 3</w/src.txt>',
  '1764500000.000300 openat(AT_FDCWD, "missing.txt", O_RDONLY) = -1 ENOENT (No such file or directory)',
  '1764500000.000400 openat(AT_FDCWD, "/w/dir", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 4</w/dir>',
  '1764500000.000500 openat(4</w/dir>, "a \\"quoted\\", name\\303\\251", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 5</w/dir/x>',
  '1764500000.000600 openat(AT_FDCWD, "/w/_build/out.tmp-1", O_WRONLY|O_CREAT|O_EXCL, 0644) = 3</w/_build/out.tmp-1>',
  '1764500000.000700 renameat2(AT_FDCWD, "/w/_build/out.tmp-1", AT_FDCWD, "/w/_build/out", RENAME_NOREPLACE) = 0',
  '1764500000.000800 openat(AT_FDCWD, "/w/_build/out", O_RDONLY) = 3</w/_build/out>',
  '1764500000.000900 creat("made.txt", 0644) = 3</w/made.txt>',
  '1764500000.001000 link("/w/made.txt", "/w/linked.txt") = 0',
  '1764500000.001100 symlinkat("target", AT_FDCWD, "/w/sym") = 0',
  '1764500000.001200 +++ exited with 0 +++',
].join('\n');

describe('parseTrace', () => {
  it('reads successful opens, creates, renames and links; relative paths from cwd', () => {
    expect(parseTrace(TRACE, '/w').map((a) => `${a.mode} ${a.path}`)).toEqual([
      'R /usr/lib/x86_64-linux-gnu/libc.so.6',
      'R /w/src.txt',
      'W /w/dir/a "quoted", nameé',
      'W /w/_build/out.tmp-1',
      'moved /w/_build/out.tmp-1',
      'W /w/_build/out',
      'R /w/_build/out',
      'W /w/made.txt',
      'W /w/linked.txt',
      'W /w/sym',
    ]);
  });
});

describe('straceLines', () => {
  const accesses = parseTrace(TRACE, '/w');
  it('keeps the window and what is kept, hides temporaries and re-reads, flags undeclared', () => {
    const lines = straceLines(accesses, {
      begin: 1764500000.0002,
      end: 1764500000.001,
      keep: (f) => f.startsWith('/w/'),
      fileDeps: new Set(['/w/src.txt']),
      targets: ['/w/_build'],
    });
    expect(lines).toEqual([
      { mode: 'R', path: '/w/src.txt' },
      { mode: 'W', path: '/w/dir/a "quoted", nameé', note: 'not a target' },
      { mode: 'W', path: '/w/_build/out' },
      { mode: 'W', path: '/w/made.txt', note: 'not a target' },
      { mode: 'W', path: '/w/linked.txt', note: 'not a target' },
    ]);
  });
});
