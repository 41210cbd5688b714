import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { stripListFooter } from '../../../src/scanning/antispam/list-footer.js';

describe('stripListFooter', () => {
  it('cuts a Mailman footer after an underscore line', () => {
    const body =
      'The patch fixes the parser.\n' +
      '_______________________________________________\n' +
      'Example-list mailing list\n' +
      'https://lists.example.org/mailman/listinfo/example-list\n';
    assert.equal(stripListFooter(body), 'The patch fixes the parser.\n');
  });

  it('cuts a SourceForge footer after a dash line', () => {
    const body = 'See you on Friday.\n-------------------\nhttps://lists.sourceforge.net/lists/x\n';
    assert.equal(stripListFooter(body), 'See you on Friday.\n');
  });

  it('keeps a sales footer that names no list software', () => {
    const body = 'Buy now!\n__________\nTo be removed from our mailing list, click here.\n';
    assert.equal(stripListFooter(body), body);
  });

  it('keeps list words that follow no separator line', () => {
    const body = 'Read the archive at https://lists.example.org/mailman/listinfo/x today.\n';
    assert.equal(stripListFooter(body), body);
  });

  it('looks only at the end of a long body', () => {
    const early = 'Intro\n-----\nhttps://lists.example.org/mailman/listinfo/x\n';
    const body = early + 'word '.repeat(2000);
    assert.equal(stripListFooter(body), body);
  });
});
