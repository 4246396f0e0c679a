// Writes inputs.jsonl: 300 misspellings of the dictionary's words, one JSON string a line,
// made the same way on every run (a fixed seed), so the example's result is always the same.
import { writeFileSync } from 'node:fs'
const words = ['accomodate', 'acheive', 'aquire', 'adress', 'apparant', 'arguement', 'begining', 'beleive',
  'buisness', 'calender', 'catagory', 'cemetary', 'commitee', 'concience', 'definately', 'embarass',
  'enviroment', 'existance', 'foriegn', 'goverment', 'grammer', 'garantee', 'harrass', 'immediatly',
  'independant', 'knowlege', 'libary', 'licence', 'maintainance', 'neccessary', 'ocassion', 'occured',
  'parliment', 'posession', 'priviledge', 'publically', 'recieve', 'reccommend', 'rythm', 'shedule',
  'seperate', 'succesful', 'tommorow', 'truely', 'untill', 'wierd', 'writting', 'absense']
let state = 42
const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31)
const lines = []
for (let i = 0; i < 300; i++) lines.push(JSON.stringify(i % 7 === 0 ? words[next() % words.length].toUpperCase() : words[next() % words.length]))
writeFileSync(new URL('./inputs.jsonl', import.meta.url), lines.join('\n') + '\n')
