/**
 * Each built-in task's parameter schema (what the dashboard's form is built from) agrees with
 * the task: the same names and descriptions, and what the schema refuses the task refuses too.
 * The form's own functions (dashboard/param-fields.js) read values by the schema's types.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { builtinTasks } from '../../tasks/index.js'
import { ParamError, type TaskModule } from '../../tasks/contract.js'

const form = await import(new URL('../../../dashboard/param-fields.js', import.meta.url).href)
const ajv = new Ajv2020({ strict: true })
const withSchema = Object.values(builtinTasks).filter((t) => t.schema)

const good: Record<string, object[]> = {
  primes: [{ to: 1000 }, { from: 10, to: 20 }],
  pi: [{ samples: 1e6 }, { samples: 1000, seed: 3 }],
  mandelbrot: [{}, { width: 1600, height: 1200, maxIter: 5000, x0: -0.7454, x1: -0.7426, y0: 0.1122 }]
}
const bad: Record<string, object[]> = {
  primes: [{}, { to: 'many' }, { to: 1.5 }, { from: -1, to: 5 }, { to: 10, step: 2 }],
  pi: [{}, { samples: 0 }, { samples: 10, seed: 'x' }],
  mandelbrot: [{ width: 0 }, { maxIter: 2e6 }, { x0: 'left' }, { size: 3 }]
}

function taskAccepts(task: TaskModule, params: object): boolean {
  try {
    task.split(params as Record<string, unknown>, 2)
    return true
  } catch (err) {
    if (err instanceof ParamError) return false
    throw err
  }
}

test('primes, pi and mandelbrot have a schema naming each parameter with its own description', () => {
  assert.equal(withSchema.map((t) => t.name).sort(), ['mandelbrot', 'pi', 'primes'])
  for (const task of withSchema) {
    assert.equal(Object.keys(task.schema!.properties), Object.keys(task.params!), task.name)
    for (const [name, property] of Object.entries(task.schema!.properties)) assert.is(property.description, task.params![name])
  }
})

test('what a schema accepts the task accepts, and what it refuses the task refuses', () => {
  for (const task of withSchema) {
    const validate = ajv.compile(task.schema!)
    for (const params of good[task.name]) {
      assert.ok(validate(params), `${task.name} schema refused ${JSON.stringify(params)}: ${ajv.errorsText(validate.errors)}`)
      assert.ok(taskAccepts(task, params), `${task.name} refused ${JSON.stringify(params)}`)
    }
    for (const params of bad[task.name]) {
      assert.not.ok(validate(params), `${task.name} schema took ${JSON.stringify(params)}`)
      assert.not.ok(taskAccepts(task, params), `${task.name} took ${JSON.stringify(params)}`)
    }
  }
})

test('the form reads each field by its schema type, and without a schema as the peer parses text', () => {
  const fields = form.paramFields({ schema: builtinTasks.mandelbrot.schema })
  const width = fields.find((f: { name: string }) => f.name === 'width')
  const x0 = fields.find((f: { name: string }) => f.name === 'x0')
  assert.equal(form.inputAttributes(width).type, 'number')
  assert.is(form.inputAttributes(width).step, '1')
  assert.is(form.inputAttributes(x0).step, 'any')
  assert.is(form.readParam(width, ' 1600 '), 1600)
  assert.is(form.readParam(width, ''), undefined)
  assert.throws(() => form.readParam(width, '16.5'), /width takes a whole number/)
  assert.throws(() => form.readParam(width, '0'), /width takes at least 1/)
  assert.is(form.readParam(x0, '-0.7454'), -0.7454)
  const to = form.paramFields({ schema: builtinTasks.primes.schema }).find((f: { name: string }) => f.name === 'to')
  assert.throws(() => form.readParam(to, ''), /to is needed/)
  const [guess] = form.paramFields({ params: { n: 'how many (default: 5)' } })
  assert.is(guess.default, '5')
  assert.is(form.readParam(guess, '12'), 12)
  assert.is(form.readParam(guess, 'twelve'), 'twelve')
})

test.run()
