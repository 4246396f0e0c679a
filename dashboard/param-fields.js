// @ts-check
// The submit form's parameter fields, built from each task's JSON Schema (task.schema) where it
// has one, so that numbers are numbers because the task says so, not because they look like one.
// A task module without a schema (your own, from --tasks DIR) gets text fields from its descriptions.
// Pure functions: the browser builds inputs from them, and a test runs them in Node.

const TYPES = ['integer', 'number', 'string', 'boolean']

/**
 * @typedef {object} ParamField
 * @property {string} name
 * @property {string} hint
 * @property {'integer' | 'number' | 'string' | 'boolean' | null} type null: no schema, so read as the peer parses text
 * @property {number} [min]
 * @property {number} [max]
 * @property {unknown} [default]
 * @property {boolean} required
 */

/**
 * @param {{ schema?: any, params?: Record<string, string> } | undefined} task
 * @returns {ParamField[]}
 */
export function paramFields(task) {
  const props = task?.schema?.properties
  if (props && typeof props === 'object') {
    const required = new Set(Array.isArray(task.schema.required) ? task.schema.required : [])
    return Object.entries(props).map(([name, /** @type {any} */ p]) => ({
      name,
      hint: String(p?.description ?? ''),
      type: TYPES.includes(p?.type) ? p.type : 'string',
      min: typeof p?.minimum === 'number' ? p.minimum : undefined,
      max: typeof p?.maximum === 'number' ? p.maximum : undefined,
      default: p?.default,
      required: required.has(name)
    }))
  }
  return Object.entries(task?.params ?? {}).map(([name, hint]) => ({
    name,
    hint: String(hint),
    type: null,
    default: /default:? ([^,;)]+)/.exec(String(hint))?.[1],
    required: false
  }))
}

/**
 * The attributes of a field's input: the browser then checks kind and range itself.
 * @param {ParamField} field
 * @returns {Record<string, string | number | boolean | undefined>}
 */
export function inputAttributes(field) {
  const common = {
    name: `param.${field.name}`,
    placeholder: field.default === undefined ? '' : String(field.default),
    autocomplete: 'off',
    spellcheck: 'false',
    required: field.required
  }
  if (field.type === 'integer' || field.type === 'number') {
    return {
      ...common,
      type: 'number',
      step: field.type === 'integer' ? '1' : 'any',
      min: field.min,
      max: field.max,
      inputmode: field.type === 'integer' ? 'numeric' : 'decimal'
    }
  }
  if (field.type === 'boolean') return { name: common.name, type: 'checkbox' }
  return { ...common, type: 'text' }
}

/**
 * A field's value from its text, by its type; undefined when left empty; throws saying what it takes.
 * @param {ParamField} field
 * @param {unknown} text
 * @returns {string | number | boolean | undefined}
 */
export function readParam(field, text) {
  const value = String(text ?? '').trim()
  if (field.type === 'boolean') return value === 'on' || value === 'true' ? true : undefined
  if (value === '') {
    if (field.required) throw new Error(`${field.name} is needed: ${field.hint}`)
    return undefined
  }
  if (field.type === 'integer' || field.type === 'number') {
    const n = Number(value)
    const whole = field.type === 'integer'
    if (!Number.isFinite(n) || (whole && !Number.isInteger(n)))
      throw new Error(`${field.name} takes ${whole ? 'a whole number' : 'a number'}, not "${value}"`)
    if (field.min !== undefined && n < field.min) throw new Error(`${field.name} takes at least ${field.min}, not ${n}`)
    if (field.max !== undefined && n > field.max) throw new Error(`${field.name} takes at most ${field.max}, not ${n}`)
    return n
  }
  if (field.type === 'string') return value
  // No schema: what the peer's own parser takes, numbers where the text is one.
  return Number.isFinite(Number(value)) ? Number(value) : value
}
