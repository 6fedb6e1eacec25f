/**
 * A mistake the user can fix (bad flavor, bad parameter, missing tool...). Entry points print
 * its message as one line and exit non-zero without a stack trace (unless DEBUG=yes).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
