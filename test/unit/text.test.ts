import { textProblem } from '../../src/text';

/** What src/text.ts lets through as a name or reference, and what it refuses. */
describe('textProblem', () => {
  it.each([
    ['plain ASCII', 'Alice'],
    ['accents, composed and decomposed', 'Zoë Zoe\u0308 Ångström'],
    ['other scripts', 'Müller 北京 Москва עברית العربية'],
    ['an emoji ZWJ sequence (family)', 'Family 👨\u200D👩\u200D👧'],
    ['an emoji ZWJ sequence with VS16 (rainbow flag)', '🏳\uFE0F\u200D🌈'],
    ['an emoji ZWJ sequence with a skin tone (technologist)', '🧑🏽\u200D💻'],
    ['a flag tag sequence (Scotland)', '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}'],
    ['ZWNJ in Persian', 'می\u200Cخواهم'],
    ['ZWJ after a virama (Devanagari half form)', 'क\u094D\u200Dष'],
    ['ZWNJ after a virama (Devanagari)', 'क\u094D\u200Cष'],
  ])('accepts %s', (_what, text) => {
    expect(textProblem(text)).toBeNull();
  });

  it.each([
    ['a right-to-left override', 'invoice\u202Egpj.exe', 'U+202E'],
    ['a left-to-right embedding', 'a\u202Ab', 'U+202A'],
    ['an isolate', 'a\u2067b\u2069', 'U+2067'],
    ['a right-to-left mark', 'Alice\u200F', 'U+200F'],
    ['a zero-width space', 'Ali\u200Bce', 'U+200B'],
    ['a word joiner', 'Bob\u2060', 'U+2060'],
    ['a byte order mark', '\uFEFFCarol', 'U+FEFF'],
    ['a soft hyphen', 'Da\u00ADve', 'U+00AD'],
    ['a ZWJ between Latin letters', 'Ev\u200De', 'U+200D'],
    ['a ZWJ at the end', 'Dave\u200D', 'U+200D'],
    ['a ZWJ after a Latin accent (not a virama)', 'E\u0301\u200Dve', 'U+200D'],
    ['a ZWNJ between Latin letters', 'Fr\u200Cank', 'U+200C'],
    ['a ZWJ after an emoji but before a letter', '👨\u200DA', 'U+200D'],
    ['tag characters outside a flag', 'Gina\u{E0041}', 'U+E0041'],
    ['a flag tag sequence without its cancel tag', '🏴\u{E0067}\u{E0062}', 'U+E0067'],
  ])('refuses %s', (_what, text, codePoint) => {
    expect(textProblem(text)).toContain(codePoint);
  });

  it('still refuses control characters and lone surrogates', () => {
    expect(textProblem('a\u0007b')).toMatch(/control character/);
    expect(textProblem('a\uD800b')).toMatch(/surrogate/);
  });
});
