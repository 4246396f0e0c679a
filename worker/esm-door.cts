/**
 * A CommonJS door to an ES module, for Piscina. Piscina require()s its worker file before it
 * tries import(); for an ES module, Node 20.19+ then takes its experimental require(esm) path,
 * which has aborted whole processes here (an assertion in CreateRequiredModuleFacade, issue 11).
 * require() of a door is plain CommonJS, and the door import()s the module. Piscina awaits the
 * export it looks up (worker.js getHandler), so each named export is a promise of the module's
 * function: Piscina calls the function itself, with nothing added per task.
 */
export function esmDoor(load: () => Promise<Record<string, unknown>>, names: string[]): Record<string, unknown> {
  // A module that fails to load fails every task with its own error, not Piscina's "no handler".
  const loaded = load().catch((err: unknown) => Object.fromEntries(names.map((name) => [name, () => { throw err }])))
  const exported: Record<string, unknown> = { __esModule: true }
  for (const name of names) exported[name] = loaded.then((module) => module[name])
  return exported
}
