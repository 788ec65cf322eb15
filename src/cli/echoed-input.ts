/** How much of a user's input a message quotes back. */
export const MAX_ECHOED_CHARACTERS = 80;
// Control and format characters would move the cursor, recolour or clear the terminal, or reorder the text shown.
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/gu;
const OVERLONG_WORD = new RegExp(`\\S{${MAX_ECHOED_CHARACTERS + 1},}`, 'gu');

/** User input as a message quotes it: control characters removed, at most MAX_ECHOED_CHARACTERS, then an ellipsis. */
export function echoInput(input: string): string {
  const characters = [...input.replace(UNPRINTABLE, '')];
  return characters.length <= MAX_ECHOED_CHARACTERS ? characters.join('') : `${characters.slice(0, MAX_ECHOED_CHARACTERS).join('')}…`;
}

/** A one-line message that quotes input it did not shorten (Node's option errors, settings problems): each long word cut. */
export function echoMessage(message: string): string {
  return message.replace(UNPRINTABLE, '').replace(OVERLONG_WORD, echoInput);
}
