import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { toVisibleJson, toVisibleText } from '../../src/shared/visible-text.js';

describe('toVisibleText', () => {
  it('shows a right-to-left override in a file name', () => {
    assert.equal(toVisibleText('invoice\u202Egpj.exe'), 'invoice⟨U+202E⟩gpj.exe');
  });

  it('shows every bidirectional control', () => {
    const controls = [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
    for (const codePoint of controls) {
      const hex = codePoint.toString(16).toUpperCase().padStart(4, '0');
      assert.equal(toVisibleText(`a${String.fromCodePoint(codePoint)}b`), `a⟨U+${hex}⟩b`, hex);
    }
  });

  it('shows control characters and line separators', () => {
    assert.equal(toVisibleText('a\nb\r\tc\u0000d\u007fe\u0085f'), 'a⟨U+000A⟩b⟨U+000D⟩⟨U+0009⟩c⟨U+0000⟩d⟨U+007F⟩e⟨U+0085⟩f');
    assert.equal(toVisibleText('a\u2028b\u2029c'), 'a⟨U+2028⟩b⟨U+2029⟩c');
  });

  it('shows zero-width spaces and the byte order mark', () => {
    assert.equal(toVisibleText('pay\u200Bpal\uFEFF'), 'pay⟨U+200B⟩pal⟨U+FEFF⟩');
  });

  it('keeps joiners, accents, emoji and right-to-left letters', () => {
    const text = 'Café می\u200Cخواهم 👩\u200D💻 שלום';
    assert.equal(toVisibleText(text), text);
  });

  it('keeps line breaks and tabs in multiline text', () => {
    assert.equal(toVisibleText('a\r\n\tb\u202Ec', { multiline: true }), 'a\r\n\tb⟨U+202E⟩c');
  });
});

describe('toVisibleJson', () => {
  it('escapes a right-to-left override', () => {
    const json = toVisibleJson({ subject: 'invoice\u202Egpj.exe' });
    assert.equal(json, '{"subject":"invoice\\u202egpj.exe"}');
  });

  it('escapes format and C1 control characters', () => {
    const value = { text: 'a\u200Bb\uFEFFc\u007Fd\u009Be\u2028f\u{E0041}g' };
    const json = toVisibleJson(value);
    assert.equal(json, '{"text":"a\\u200bb\\ufeffc\\u007fd\\u009be\\u2028f\\udb40\\udc41g"}');
    assert.deepEqual(JSON.parse(json), value);
  });

  it('keeps indentation and joiners', () => {
    const value = { name: 'Café 👩\u200D💻', list: ['x\ny'] };
    const json = toVisibleJson(value, 2);
    assert.equal(json, JSON.stringify(value, null, 2));
  });
});
