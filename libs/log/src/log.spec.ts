import { Logger, UserError, reportError, formatBytes } from './index';

function capture(env: NodeJS.ProcessEnv) {
  const lines: string[] = [];
  const logger = new Logger({ env, sink: { write: (t: string) => lines.push(t) }, color: false });
  return { logger, lines };
}

describe('Logger', () => {
  it('hides debug unless DEBUG=yes', () => {
    const quiet = capture({});
    quiet.logger.debug('hidden');
    expect(quiet.lines).toEqual([]);
    const loud = capture({ DEBUG: 'yes' });
    loud.logger.debug('shown');
    expect(loud.lines.join('')).toContain('[debug] shown');
  });

  it('pads the level as upstream does', () => {
    const { logger, lines } = capture({});
    logger.info('hello', 'world');
    expect(lines).toEqual(['🌿 [info ] hello world\n']);
  });

  it('adds GitHub Actions annotations for notice, warn and error only', () => {
    const { logger, lines } = capture({ GITHUB_ACTIONS: 'true' });
    logger.info('plain');
    logger.warn('careful\nnow');
    logger.error('broken');
    logger.notice('fyi');
    expect(lines.filter((l) => l.startsWith('::'))).toEqual([
      '::warning ::careful%0Anow\n',
      '::error ::broken\n',
      '::notice ::fyi\n',
    ]);
  });

  it('uses ANSI colours when asked', () => {
    const lines: string[] = [];
    new Logger({ env: {}, sink: { write: (t: string) => lines.push(t) }, color: true }).error('x');
    expect(lines[0]).toContain('\x1b[1;31m');
  });
});

describe('reportError', () => {
  it('prints a user error as one line without a stack', () => {
    const { logger, lines } = capture({});
    const code = reportError(new UserError('Unknown flavor', 3), logger);
    expect(code).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('at ');
  });

  it('prints the stack of unexpected errors only with DEBUG=yes', () => {
    const quiet = capture({});
    reportError(new Error('boom'), quiet.logger);
    expect(quiet.lines.join('')).toContain('DEBUG=yes');
    expect(quiet.lines.join('')).not.toContain('log.spec.ts');
    const loud = capture({ DEBUG: 'yes' });
    reportError(new Error('boom'), loud.logger);
    expect(loud.lines.join('')).toContain('log.spec.ts');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 * 1024 * 1024)).toBe('3.0 GiB');
  });
});
