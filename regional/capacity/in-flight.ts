/** Calls running per key; a key at zero is dropped, so the map holds only what is busy. */
export interface InFlight {
  count(key: string): number;
  add(key: string): void;
  remove(key: string): void;
  list(): Array<{ key: string; count: number }>;
}

export function createInFlight(): InFlight {
  const counts = new Map<string, number>();
  return {
    count: (key) => counts.get(key) ?? 0,
    add(key) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    remove(key) {
      const left = (counts.get(key) ?? 0) - 1;
      if (left > 0) counts.set(key, left);
      else counts.delete(key);
    },
    list: () => [...counts].map(([key, count]) => ({ key, count })),
  };
}
