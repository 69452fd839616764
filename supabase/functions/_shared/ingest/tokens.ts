// One encoding module, so only its rank table (about 1 MB of JS) loads, not every model's.
import { countTokens as countCl100k, decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';

// Documents may contain text such as "<|endoftext|>"; it is counted as ordinary text, never refused.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** Number of cl100k_base tokens in a text. */
export function countTokens(text: string): number {
  return text === '' ? 0 : countCl100k(text, AS_TEXT);
}

/** The longest start of `text` with at most `maxTokens` tokens, cut between tokens (an incomplete character is dropped). */
export function truncateToTokens(text: string, maxTokens: number): string {
  const tokens = encode(text, AS_TEXT);
  if (tokens.length <= maxTokens) return text;
  return decode(tokens.slice(0, Math.max(0, maxTokens))).replace(/\uFFFD+$/, '');
}
