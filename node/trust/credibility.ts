/**
 * Sarmenta's credibility-based fault tolerance (FGCS 18(4), 2002), as plain math: no state, no
 * I/O. A result's credibility is the probability that it is right, given an assumed worst-case
 * fraction f of saboteurs and what its peer has proven; a group of matching results is
 * credible in proportion to the odds of all its members, against the odds of every rival group.
 * Bad results are assumed to agree with each other (colluding saboteurs): the formulas are
 * meant for the worst case, not the average.
 */

/**
 * Credibility of a peer that has passed `checks` checks and would have been blacklisted at its
 * first failure. A saboteur that lies with rate s survives k checks with probability (1 − s)^k,
 * so a result of such a peer is bad with probability at most f/(1 − f) · s(1 − s)^k, which is
 * largest at s = 1/(k + 1) and below f/(1 − f) · 1/(k·e) for every s: this bound holds whatever
 * rate the saboteurs choose. A newcomer is only as credible as a random peer: 1 − f.
 */
export function peerCredibility(checks: number, saboteurs: number): number {
  if (saboteurs <= 0) return 1
  if (saboteurs >= 1) return 0
  const newcomer = 1 - saboteurs
  if (checks <= 0) return newcomer
  return Math.max(newcomer, 1 - saboteurs / ((1 - saboteurs) * checks * Math.E))
}

/** Log-odds of a credibility, finite at 0 and 1 so that sums of them stay numbers. */
export function logOdds(credibility: number): number {
  const c = Math.min(1 - 1e-15, Math.max(1e-15, credibility))
  return Math.log(c / (1 - c))
}

/**
 * The doubt 1 − Cr_G of the group whose members' log-odds sum to `target`, when every group
 * (target included) sums to one of `all`. Sarmenta: Cr_G(a) = P(a good)·Π P(others bad) over
 * the chance of every consistent outcome (all bad, or exactly one group good); dividing by
 * Π P(bad) leaves odds: Cr_G(a) = O_a / (1 + Σ_j O_j). Computed in log space, scaled by the
 * largest term, so a hundred agreeing results neither overflow nor round to certainty.
 */
export function groupDoubt(target: number, all: readonly number[]): number {
  let top = 0
  for (const l of all) if (l > top) top = l
  let total = Math.exp(-top)
  for (const l of all) total += Math.exp(l - top)
  return 1 - Math.exp(target - top) / total
}

/** Credibility of a group, 1 − groupDoubt, for display. */
export function groupCredibility(target: number, all: readonly number[]): number {
  return 1 - groupDoubt(target, all)
}

/**
 * Checks a peer must pass before its lone result is credible enough (doubt ≤ ε): the k at
 * which f/((1 − f)·k·e) ≤ ε. Shown to users, as "how long until a newcomer is trusted alone".
 */
export function checksToStandAlone(errorRate: number, saboteurs: number): number {
  if (saboteurs <= 0) return 0
  return Math.ceil(saboteurs / ((1 - saboteurs) * Math.E * errorRate))
}

/** How many agreeing newcomers a unit needs when no one has proven anything yet. */
export function newcomersNeeded(errorRate: number, saboteurs: number): number {
  if (saboteurs <= 0) return 1
  const one = logOdds(1 - saboteurs)
  let n = 1
  while (groupDoubt(n * one, [n * one]) > errorRate && n < 1000) n++
  return n
}

/** C(n, k) as a float, for the binomial sums below (n stays small). */
function choose(n: number, k: number): number {
  let c = 1
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i
  return c
}

/**
 * Sarmenta's closed form for M-first (majority) voting when every bad result agrees:
 * ε(M, φ) = Σ_{j=M}^{2M−1} C(2M−1, j) φ^j (1 − φ)^{2M−1−j}, the chance that M bad results come
 * before M good ones, with φ = f·s the chance that a given result is bad.
 */
export function majorityError(m: number, phi: number): number {
  const n = 2 * m - 1
  let sum = 0
  for (let j = m; j <= n; j++) sum += choose(n, j) * phi ** j * (1 - phi) ** (n - j)
  return sum
}

/** The smallest M whose majority voting stays at or under `errorRate` when a result is bad with chance φ. */
export function majorityNeeded(errorRate: number, phi: number, limit = 99): number | null {
  for (let m = 1; m <= limit; m++) if (majorityError(m, phi) <= errorRate) return m
  return null
}
