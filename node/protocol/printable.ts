/**
 * What a remote peer says in words (a failure's reason, a refusal) ends up in logs, on a
 * terminal and on the dashboard. Control characters there can rewrite the screen, retitle the
 * terminal or forge log lines, and bidirectional overrides can make text read other than it
 * is: every remote string loses them before anyone logs or shows it.
 */

/** C0 and C1 controls, DEL, and the Unicode marks and overrides that reorder text. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g
const ANY_UNPRINTABLE = new RegExp(UNPRINTABLE.source)

/** The text with every run of control characters turned into one space. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, ' ')
}

/** Whether the text has no control characters at all (names and ids must not). */
export function isPrintable(text: string): boolean {
  return !ANY_UNPRINTABLE.test(text)
}
