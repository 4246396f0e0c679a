/**
 * The CPU's temperature, for --pause-when-hot. Linux exposes its sensors as thermal zones in
 * sysfs; the hottest zone is taken, as a fan or a throttling CPU answers to the hottest part.
 * Elsewhere (and in most VMs) there is none, and the donor says so instead of guessing.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const THERMAL_DIR = '/sys/class/thermal'

/** The hottest thermal zone in °C, or null when no zone can be read. */
export function hottestCelsius(dir = THERMAL_DIR): number | null {
  let zones: string[]
  try {
    zones = readdirSync(dir).filter((name) => name.startsWith('thermal_zone'))
  } catch {
    return null
  }
  let hottest: number | null = null
  for (const zone of zones) {
    try {
      // Millidegrees; a sensor that is absent or asleep reads as an error or nonsense.
      const celsius = Number(readFileSync(join(dir, zone, 'temp'), 'utf8').trim()) / 1000
      if (Number.isFinite(celsius) && celsius > -50 && celsius < 200) hottest = Math.max(hottest ?? -Infinity, celsius)
    } catch {
      // Skip this zone.
    }
  }
  return hottest
}
