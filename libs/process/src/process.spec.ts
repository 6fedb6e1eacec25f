import { Readable } from 'node:stream';
import { run, spawnFilter, hasCommand, ProcessError } from './index';
import { UserError } from '@hook/log';

// These spawn real programs: the process module is the edge every other test mocks.
describe('run', () => {
  it('captures stdout and passes input', async () => {
    const result = await run('sh', ['-c', 'tr a-z A-Z'], { input: 'hook' });
    expect(result).toEqual({ stdout: 'HOOK', stderr: '', exitCode: 0 });
  });

  it('throws a ProcessError with the last stderr line on failure', async () => {
    await expect(run('sh', ['-c', 'echo first >&2; echo "bad thing" >&2; exit 3'])).rejects.toThrow(
      new ProcessError('sh exited with code 3: bad thing', { stdout: '', stderr: '', exitCode: 3 }),
    );
  });

  it('returns the failure when allowed', async () => {
    const result = await run('sh', ['-c', 'exit 2'], { allowFailure: true });
    expect(result.exitCode).toBe(2);
  });

  it('explains a missing program as a user error', async () => {
    await expect(run('no-such-program-hook', [])).rejects.toBeInstanceOf(UserError);
  });

  it('finds commands on PATH', async () => {
    expect(await hasCommand('sh')).toBe(true);
    expect(await hasCommand('no-such-program-hook')).toBe(false);
  });
});

describe('spawnFilter', () => {
  it('streams data through a program', async () => {
    const filter = await spawnFilter('sh', ['-c', 'wc -c']);
    Readable.from([Buffer.alloc(100000, 1)]).pipe(filter.stdin);
    const chunks: Buffer[] = [];
    for await (const chunk of filter.stdout) chunks.push(chunk as Buffer);
    await filter.done;
    expect(Buffer.concat(chunks).toString().trim()).toBe('100000');
  });

  it('rejects when the filter fails', async () => {
    const filter = await spawnFilter('sh', ['-c', 'cat >/dev/null; echo nope >&2; exit 1']);
    filter.stdin.end('x');
    filter.stdout.resume();
    await expect(filter.done).rejects.toThrow('nope');
  });
});
