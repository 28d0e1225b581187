import { describe, expect, it } from 'vitest';
import { duplicateImports } from '../../scripts/lint-imports.mjs';

describe('lint: one import statement per module', () => {
  it('passes a file that imports each module once, values and types together', () => {
    const text = "import { checkU32, type Fail } from './validate';\nimport type { Mode } from './contract';\nconst m = await import('./validate');\n";
    expect(duplicateImports('a.ts', text)).toEqual([]);
  });

  it('names the second statement that imports a module again, also across lines and for a type-only import', () => {
    const text = "import { a } from './x';\nimport {\n  b,\n} from './y';\nimport type { C } from './x';\nimport { d } from './y';\n";
    expect(duplicateImports('a.ts', text)).toEqual([
      "a.ts:5: './x' imported again (first on line 1); merge the two statements",
      "a.ts:6: './y' imported again (first on line 2); merge the two statements",
    ]);
  });
});
