/**
 * The files of a js job on the submitter's side: a job file (or --param) may name its code and
 * inputs as {"file": P}, which the CLI reads here, and `results JOB --out DIR` writes the
 * outputs back as DIR/outputs.json. Nothing here runs on a donor.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ParamError, type Params } from './contract.js'
import type { JsResult } from './js.js'

function fileOf(value: unknown): string | null {
  const file = (value as { file?: unknown } | null)?.file
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof file === 'string' ? file : null
}

/** One JSON value a line; blank lines are skipped, and a bad line is named by its number. */
export function parseJsonLines(text: string, path: string): unknown[] {
  const values: unknown[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      values.push(JSON.parse(line))
    } catch (err) {
      throw new ParamError(`js: ${path} line ${i + 1} is no JSON value (${(err as Error).message})`)
    }
  })
  return values
}

/** Params with {"file": P} for code (an ES module) and inputs (JSON lines) replaced by what the files hold. */
export function inlineJsFiles(params: Params | undefined, read: (path: string) => Uint8Array): Params | undefined {
  if (!params) return params
  const code = fileOf(params.code)
  const inputs = fileOf(params.inputs)
  if (code === null && inputs === null) return params
  return {
    ...params,
    ...(code !== null ? { code: Buffer.from(read(code)).toString('utf8') } : {}),
    ...(inputs !== null ? { inputs: parseJsonLines(Buffer.from(read(inputs)).toString('utf8'), inputs) } : {})
  }
}

/** Writes DIR/outputs.json (the outputs in input order) and, when the module merged them, DIR/value.json; returns the paths. */
export function writeJsOutputs(result: JsResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  const written = [join(dir, 'outputs.json')]
  writeFileSync(written[0], JSON.stringify(result.outputs, null, 2) + '\n')
  if ('value' in result) {
    written.push(join(dir, 'value.json'))
    writeFileSync(written[1], JSON.stringify(result.value, null, 2) + '\n')
  }
  return written
}
