import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

import { toVisibleText } from '../../src/shared/visible-text.js';

type ToVisibleText = (text: string, options?: { multiline?: boolean }) => string;

// The page cannot import from src/, so webui/visible-text.js is a copy; this keeps them equal.
const browserCopyUrl = pathToFileURL(resolve('webui', 'visible-text.js')).href;

const SAMPLES = [
  'invoice\u202Egpj.exe',
  'a\u061Cb\u200Ec\u200Fd\u202Ae\u202Bf\u202Cg\u202Dh\u2066i\u2067j\u2068k\u2069',
  'line\nbreak\r\ttab\u0000nul\u007fdel\u0085nel\u2028ls\u2029ps',
  'pay\u200Bpal\uFEFF\u00AD',
  'Café می\u200Cخواهم 👩\u200D💻 שלום',
  '',
];

describe('webui visible-text.js', () => {
  it('matches src/shared/visible-text.ts', async () => {
    const browserCopy = (await import(browserCopyUrl)) as { toVisibleText: ToVisibleText };
    for (const sample of SAMPLES) {
      assert.equal(browserCopy.toVisibleText(sample), toVisibleText(sample), JSON.stringify(sample));
      const multiline = { multiline: true };
      assert.equal(browserCopy.toVisibleText(sample, multiline), toVisibleText(sample, multiline), JSON.stringify(sample));
    }
  });
});
