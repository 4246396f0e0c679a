// A spelling corrector for one word: the closest word of a small dictionary by Levenshtein
// distance, computed by the fastest-levenshtein npm package. `npm run build:js` bundles this
// file and the package into one module with no imports, which is what a js job carries.
import { closest, distance } from 'fastest-levenshtein'

const DICTIONARY = [
  'absence', 'accommodate', 'achieve', 'acquire', 'address', 'apparent', 'argument', 'beginning',
  'believe', 'business', 'calendar', 'category', 'cemetery', 'committee', 'conscience', 'definitely',
  'embarrass', 'environment', 'existence', 'foreign', 'government', 'grammar', 'guarantee', 'harass',
  'immediately', 'independent', 'knowledge', 'library', 'license', 'maintenance', 'necessary', 'occasion',
  'occurred', 'parliament', 'possession', 'privilege', 'publicly', 'receive', 'recommend', 'rhythm',
  'schedule', 'separate', 'successful', 'tomorrow', 'truly', 'until', 'weird', 'writing'
]

/** One input: a word. One output: the dictionary word it most likely means, and how far off it was. */
export default function correct(word) {
  const match = closest(String(word).toLowerCase(), DICTIONARY)
  return { word, match, edits: distance(String(word).toLowerCase(), match) }
}

/** Runs once on the coordinator over all outputs: how many words needed fixing, and the edits in all. */
export function merge(outputs) {
  return {
    words: outputs.length,
    misspelt: outputs.filter((o) => o.edits > 0).length,
    edits: outputs.reduce((sum, o) => sum + o.edits, 0)
  }
}
