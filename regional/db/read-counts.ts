/**
 * Why a read went to the node it did. `read_your_writes`: a replica takes reads, but none had
 * replayed the tenant's last write; `no_replica`: none could take it (none in rotation, or none
 * past the start-up barrier); `position_unknown`: the tenant's last write could not be learnt
 * (Redis); `primary_down`: a replica answers while the primary is down.
 */
export type ReadReason = "replica" | "read_your_writes" | "no_replica" | "position_unknown" | "primary_down" | "embedded";

export const readNode: Readonly<Record<ReadReason, "primary" | "replica">> = {
  replica: "replica",
  read_your_writes: "primary",
  no_replica: "primary",
  position_unknown: "primary",
  primary_down: "replica",
  embedded: "primary",
};

/** Reads handed out since start, by reason (and so by node): plain numbers, read by metrics at scrape time. */
export type ReadCounts = Record<ReadReason, number>;

export const noReads = (): ReadCounts => ({
  replica: 0,
  read_your_writes: 0,
  no_replica: 0,
  position_unknown: 0,
  primary_down: 0,
  embedded: 0,
});
