/**
 * Exact decimal amounts (US dollars): an integer of units and how many of its digits are
 * decimals, so 0.15 is `{ units: 15n, scale: 2 }`. Prices are decimal, and a sum of binary
 * floats drifts (0.1 + 0.2); these add and multiply without rounding at all.
 */
export interface Money {
  units: bigint;
  scale: number;
}

export const zero: Money = { units: 0n, scale: 0 };

const decimalText = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * The decimal a non-negative finite number is written as (its shortest form, as JSON would
 * print it): 0.15 is exactly 0.15, not the binary float nearest to it.
 */
export function moneyOf(value: number | string): Money {
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = decimalText.exec(text);
  if (!match) throw new RangeError(`not a non-negative decimal number: ${text}`);
  const [, whole = "", fraction = "", exponent = "0"] = match;
  const scale = fraction.length - Number(exponent);
  const units = BigInt(whole + fraction);
  return scale >= 0 ? { units, scale } : { units: units * 10n ** BigInt(-scale), scale: 0 };
}

const aligned = (a: Money, b: Money): [bigint, bigint, number] => {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
};

export function add(a: Money, b: Money): Money {
  const [x, y, scale] = aligned(a, b);
  return { units: x + y, scale };
}

export function multiply(a: Money, b: Money): Money {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** `value / 10^digits`, exactly: what a price per million tokens comes to per token. */
export function shifted(value: Money, digits: number): Money {
  return { units: value.units, scale: value.scale + digits };
}

/** Plain decimal text without trailing zeros or an exponent (`0.000123`), as headers and `numeric` take it. */
export function formatMoney(value: Money): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, "0");
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}
