/** A mistake in how the server was started (port, directory, tokens): printed as one line, exit 1. */
export class SetupError extends Error {
  override name = 'SetupError';
}
