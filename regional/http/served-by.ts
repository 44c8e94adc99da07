/** The headers that tell a client which provider answered and after how many calls. */
export function servedBy(served: { provider: string; attempts: number }): Record<string, string> {
  return { "x-breakwater-provider": served.provider, "x-breakwater-attempts": String(served.attempts) };
}
