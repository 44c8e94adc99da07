/**
 * A WAL position. Postgres prints it as two hex halves (`16/B374D848`); it is a 64-bit
 * byte offset, so it is kept as a bigint: a busy primary passes 2^53 bytes within years.
 */
export type Lsn = bigint;

const lsnText = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const match = lsnText.exec(text);
  if (!match) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** As Postgres prints it, e.g. for /health. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Fixed-width 16 hex digits: what Redis stores, so a script can compare positions exactly. */
export function lsnToHex(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, "0");
}

export function lsnFromHex(hex: string): Lsn {
  if (!/^[0-9A-F]{16}$/.test(hex)) throw new Error(`not a stored LSN: ${hex}`);
  return BigInt(`0x${hex}`);
}
