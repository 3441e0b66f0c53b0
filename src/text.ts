/**
 * Text onceql stores must read back exactly as it was acknowledged. Redis and JSON carry UTF-8,
 * where a lone UTF-16 surrogate has no encoding: it would be stored as U+FFFD and read back
 * different. Control characters (C0, DEL, C1) in a name or reference break logs, CSV exports and
 * terminals, and let one name pass for another.
 */

// With the `u` flag a paired surrogate is one code point, so \p{Cs} matches only lone ones:
// `LONE_SURROGATE.test(text)` is `!text.isWellFormed()` (ES2024, outside this project's lib).
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL_CHARACTER = /\p{Cc}/u;

/** Why `text` cannot be stored as a name or reference (a phrase to follow "it"), or null when it can. */
export function textProblem(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return 'holds a lone UTF-16 surrogate (it is not well-formed Unicode)';
  if (CONTROL_CHARACTER.test(text)) return 'holds a control character (U+0000-U+001F, U+007F-U+009F)';
  return null;
}
