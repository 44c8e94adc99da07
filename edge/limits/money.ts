/**
 * Money at the edge is counted in whole micro-dollars (1 USD = 1,000,000), so budget
 * windows add integers and never drift the way float sums do.
 */
const microsPerUsd = 1_000_000;

const decimal = /^(\d{1,12})(?:\.(\d+))?$/;

/**
 * Micro-dollars of a decimal string such as regional's `x-breakwater-cost-usd` (`0.000123`),
 * read digit by digit and rounded half up past the sixth decimal; null for anything else
 * (negative, exponent, empty).
 */
export function microsFromDecimal(text: string): number | null {
  const match = decimal.exec(text.trim());
  if (!match) return null;
  const fraction = (match[2] ?? "").padEnd(7, "0");
  const roundUp = fraction.charCodeAt(6) >= "5".charCodeAt(0) ? 1 : 0;
  return Number(match[1]) * microsPerUsd + Number(fraction.slice(0, 6)) + roundUp;
}

/** Micro-dollars of a USD amount given as a number (a budget's limit, a setting), rounded to the nearest. */
export function microsFromUsd(usd: number): number {
  return Math.round(usd * microsPerUsd);
}

/** A micro-dollar count as USD, for headers and audit payloads. */
export function usdFromMicros(micros: number): number {
  return micros / microsPerUsd;
}

/**
 * What `tokens` cost at `usdPerMillion` (a price sheet's unit): a USD price per million
 * tokens times tokens is micro-dollars, rounded up so an estimate never undercounts.
 */
export function tokenMicros(tokens: number, usdPerMillion: number): number {
  return Math.ceil(tokens * usdPerMillion);
}
