import type { Endpoint, Outcome, RequestFilter } from "./records.ts";
import type { FaultRule } from "./rules.ts";

/**
 * The control port's API, shared by the process and its client:
 *
 * | call                                             | does                                             |
 * | ------------------------------------------------ | ------------------------------------------------ |
 * | `POST /control/rules` `{provider, model, rules}` | replaces that script (`model` `*`: every model)  |
 * | `GET /control/rules`                             | every script with its position                   |
 * | `GET /control/requests?provider=&model=&...`     | records, oldest first (`RequestFilter` fields)   |
 * | `POST /control/reset`                            | clears every script and record                   |
 * | `GET /control/health`                            | 200 once listening                               |
 */
export const controlPaths = {
  rules: "/control/rules",
  requests: "/control/requests",
  reset: "/control/reset",
  health: "/control/health",
} as const;

/** The one line the process prints on stdout once every port listens. */
export interface ListeningLine {
  control: number;
  providers: Record<string, number>;
}

export interface SetRulesBody {
  provider: string;
  model: string;
  rules: FaultRule[];
}

export function filterToQuery(filter: RequestFilter): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value));
  return query;
}

const endpoints: readonly string[] = ["chat", "embeddings", "models", "other"] satisfies Endpoint[];
const outcomes: readonly string[] = ["pending", "completed", "client-gone", "cut", "reset"] satisfies Outcome[];

/** Reads a filter from a query; a string is what is wrong with it. */
export function queryToFilter(query: URLSearchParams): RequestFilter | string {
  const filter: RequestFilter = {};
  for (const [name, value] of query) {
    if (name === "provider" || name === "model") filter[name] = value;
    else if (name === "endpoint" && endpoints.includes(value)) filter.endpoint = value as Endpoint;
    else if (name === "outcome" && outcomes.includes(value)) filter.outcome = value as Outcome;
    else if (name === "stream" && (value === "true" || value === "false")) filter.stream = value === "true";
    else if (name === "afterId" && /^\d+$/.test(value)) filter.afterId = Number(value);
    else return `bad filter ${name}=${value}`;
  }
  return filter;
}
