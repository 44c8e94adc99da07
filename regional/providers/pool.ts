import http from "node:http";
import https from "node:https";

/** One provider's connections: ours to size, so waiting for them is never the provider's fault. */
export interface PoolSettings {
  /** Connections in use at once; more calls wait for one to free. */
  maxSockets: number;
  /** Reuse connections between calls. */
  keepAlive: boolean;
  /** How long an idle connection is kept for reuse; unset, until the provider closes it. */
  keepAliveMs?: number;
  /** Idle connections kept for reuse; unset, Node's default (256). */
  maxFreeSockets?: number;
  /** How long a call may wait for a free connection before it fails with `overloaded`. */
  queueTimeoutMs: number;
}

export const defaultPool: PoolSettings = { maxSockets: 1024, keepAlive: true, queueTimeoutMs: 5_000 };

export function poolSettings(overrides: Partial<PoolSettings> = {}): PoolSettings {
  return { ...defaultPool, ...Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) };
}

export interface PoolAgents {
  "http:": http.Agent;
  "https:": https.Agent;
}

/** One agent per scheme; LIFO reuse keeps the warmest connections busy and lets the rest idle out. */
export function poolAgents(pool: PoolSettings): PoolAgents {
  const options: http.AgentOptions = {
    keepAlive: pool.keepAlive,
    maxSockets: pool.maxSockets,
    scheduling: "lifo",
    // The agent's socket timeout only ever closes idle (free) connections.
    ...(pool.keepAliveMs !== undefined && { timeout: pool.keepAliveMs }),
    ...(pool.maxFreeSockets !== undefined && { maxFreeSockets: pool.maxFreeSockets }),
  };
  return { "http:": new http.Agent(options), "https:": new https.Agent(options) };
}
