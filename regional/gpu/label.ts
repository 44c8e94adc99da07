const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The label an instance carries at its marketplace: `bw-<region>-<instance id>`. The
 * prefix tells the sweep which of the account's instances are Breakwater's, and this
 * region's (regions keep separate databases); the id finds the row.
 */
export const labelPrefix = (region: string): string => `bw-${region}-`;

export const labelFor = (region: string, instanceId: string): string => `${labelPrefix(region)}${instanceId}`;

/** The instance id in a label of this region; undefined for anything else (another region, another tool). */
export function instanceIdOf(label: string | null, region: string): string | undefined {
  const prefix = labelPrefix(region);
  if (!label?.startsWith(prefix)) return undefined;
  // The id is the fixed-length tail, so region `eu` never claims `bw-eu-west-<id>`.
  const id = label.slice(prefix.length);
  return uuid.test(id) ? id : undefined;
}
