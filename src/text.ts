/**
 * Text onceql stores must read back exactly as it was acknowledged. Redis and JSON carry UTF-8,
 * where a lone UTF-16 surrogate has no encoding: it would be stored as U+FFFD and read back
 * different. Control characters (C0, DEL, C1) in a name or reference break logs, CSV exports and
 * terminals, and let one name pass for another.
 *
 * So do the invisible format characters (\p{Cf}): a right-to-left override (U+202E) shows
 * "invoice\u202Egpj.exe" as "invoiceexe.jpg", a zero-width space (U+200B) or word joiner
 * (U+2060) makes a second "Alice" that looks like the first. They are refused, except where
 * writing needs them, and only there:
 * - ZWJ (U+200D) between two pictographs, an emoji ZWJ sequence (👨‍👩‍👧, 🏳️‍🌈);
 * - ZWJ or ZWNJ (U+200C) after a script's own combining mark (a virama, as in Indic conjuncts)
 *   and before a letter;
 * - ZWNJ between two Arabic-script letters (Persian writes "می‌خواهم" with it);
 * - tag characters (U+E0020-U+E007F) in a flag tag sequence (🏴 + tags + CANCEL TAG, e.g. the
 *   flag of Scotland).
 * These are the contexts Unicode gives the joiners (RFC 5892's CONTEXTJ rules, narrowed, and UTS
 * #51 for emoji); anywhere else the same character is refused.
 */

// With the `u` flag a paired surrogate is one code point, so \p{Cs} matches only lone ones:
// `LONE_SURROGATE.test(text)` is `!text.isWellFormed()` (ES2024, outside this project's lib).
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL_CHARACTER = /\p{Cc}/u;
const FORMAT_CHARACTER = /\p{Cf}/u;

const ZWNJ = '\u200C';
const ZWJ = '\u200D';
/** A flag tag sequence: black flag, tag characters, CANCEL TAG. */
const FLAG_TAG_SEQUENCE = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu;
const PICTOGRAPH = /^\p{Extended_Pictographic}$/u;
/** What may sit between a pictograph and the ZWJ after it: VS16 or a skin tone. */
const EMOJI_PRESENTATION = /^[\uFE0F\p{Emoji_Modifier}]$/u;
const LETTER = /^\p{L}$/u;
const MARK = /^\p{M}$/u;
/** Marks shared by all scripts (e.g. the Latin accents U+0300-U+036F): never a virama. */
const INHERITED = /^\p{Script=Inherited}$/u;
const ARABIC_LETTER = /^(?=\p{L})\p{Script=Arabic}$/u;

const is = (pattern: RegExp, char: string | undefined): boolean => char !== undefined && pattern.test(char);

/** Whether the joiner at `chars[i]` sits where a script or an emoji sequence needs it. */
function joinerAllowed(chars: readonly string[], i: number): boolean {
  const before = chars[i - 1];
  const after = chars[i + 1];
  const afterScriptMark = is(MARK, before) && !is(INHERITED, before) && is(LETTER, after);
  if (chars[i] === ZWNJ) return afterScriptMark || (is(ARABIC_LETTER, before) && is(ARABIC_LETTER, after));
  let j = i - 1;
  while (is(EMOJI_PRESENTATION, chars[j])) j--;
  return afterScriptMark || (is(PICTOGRAPH, chars[j]) && is(PICTOGRAPH, after));
}

/** The first invisible format character `text` holds where no script needs one, or null. */
function strayFormatCharacter(text: string): string | null {
  if (!FORMAT_CHARACTER.test(text)) return null;
  const chars = Array.from(text.replace(FLAG_TAG_SEQUENCE, '\u{1F3F4}'));
  for (const [i, char] of chars.entries()) {
    if (!FORMAT_CHARACTER.test(char)) continue;
    if ((char === ZWJ || char === ZWNJ) && joinerAllowed(chars, i)) continue;
    return char;
  }
  return null;
}

const codePoint = (char: string): string => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `text` cannot be stored as a name or reference (a phrase to follow "it"), or null when it can. */
export function textProblem(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return 'holds a lone UTF-16 surrogate (it is not well-formed Unicode)';
  if (CONTROL_CHARACTER.test(text)) return 'holds a control character (U+0000-U+001F, U+007F-U+009F)';
  const format = strayFormatCharacter(text);
  if (format !== null) return `holds an invisible format character (${codePoint(format)}: a bidi control, zero-width character or the like, which lets one name pass for another)`;
  return null;
}
