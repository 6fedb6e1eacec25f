/**
 * A YAML parser error (the `yaml` package's) as one line: its first line without the
 * ` at line N, column M:` tail (which ended messages in a stray colon), and for the errors where
 * a line is indented too far under a `key: value`, that line: the parser names the line before it.
 */
const NEXT_LINE_CODES = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

export function yamlErrorLine(error: { message: string; code?: string }, line: number): { line: number; message: string } {
  const first = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '').replace(/:\s*$/, '');
  return { line: error.code && NEXT_LINE_CODES.has(error.code) ? line + 1 : line, message: first };
}
