/** How a route orders its targets for each request; `ordered` keeps the routes file's order. */
export const balancingStrategies = ["ordered", "weighted", "round_robin", "least_outstanding", "latency"] as const;
export type BalancingStrategy = (typeof balancingStrategies)[number];

export const isBalancingStrategy = (value: unknown): value is BalancingStrategy =>
  (balancingStrategies as readonly unknown[]).includes(value);
