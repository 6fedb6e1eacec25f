import { yamlErrorLine } from './yaml-error';

describe('yamlErrorLine', () => {
  it('drops the position tail and its stray colon', () => {
    expect(yamlErrorLine({ message: 'All mapping items must start at the same column at line 3, column 1:\n\n  b: 1\n c: 2\n^\n', code: 'BAD_INDENT' }, 3)).toEqual({
      line: 3,
      message: 'All mapping items must start at the same column',
    });
  });

  it('names the line indented too far under a key: value, not the line before it', () => {
    expect(yamlErrorLine({ message: 'Nested mappings are not allowed in compact mappings at line 2, column 10:\n\n  image: x\n', code: 'BLOCK_AS_IMPLICIT_KEY' }, 2).line).toBe(3);
  });
});
