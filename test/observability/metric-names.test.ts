import { readdir, readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { edgeMetricFamilies } from "../../edge/metrics/catalogue.ts";
import { createMetrics } from "../../regional/observability/metrics.ts";
import { parseExposition } from "../support/prometheus-text.ts";
import { createTestApp, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

/**
 * The alert rules, the dashboard and the CloudWatch alarms name metrics; each name must be one
 * the service exports, or the alert watches nothing and never fires: the edge's
 * (`breakwater_edge_*`) against the edge's catalogue, the rest against a regional scrape.
 */
const repo = (path: string) => new URL(`../../${path}`, import.meta.url);
const edgeMetric = /^breakwater_edge_/;
/** The edge's families by type, as its `/metrics` declares them (the catalogue it formats from). */
const edgeExported = new Map(edgeMetricFamilies.map((family) => [family.name, family.type]));

const promqlKeywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"]);

/** The metric names a PromQL expression selects: identifiers that are not functions, keywords, labels or strings. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  return [...bare.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\(|[\w])/g)]
    .map((match) => match[1]!)
    .filter((name) => !promqlKeywords.has(name) && !/^(inf|nan)$/i.test(name));
}

/** `expr:` values of a Prometheus rules file, one line or a `|` block. */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split("\n");
  const found: string[] = [];
  lines.forEach((line, index) => {
    const match = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!match) return;
    if (match[2] !== "|") return void found.push(match[2]!);
    const indent = match[1]!.length;
    const block: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (next.trim() !== "" && next.length - next.trimStart().length <= indent) break;
      block.push(next);
    }
    found.push(block.join("\n"));
  });
  return found;
}

/** Every `expr` in the dashboard's panels and variables. */
function dashboardExpressions(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(dashboardExpressions);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => (key === "expr" && typeof item === "string" ? [item] : dashboardExpressions(item)));
}

/** A histogram's or summary's series name its family: `x_bucket`, `x_sum`, `x_count` are `x`. */
function familyOf(name: string, types: Map<string, string>): string {
  const stem = name.replace(/_(bucket|sum|count)$/, "");
  return stem !== name && (types.get(stem) === "histogram" || types.get(stem) === "summary") ? stem : name;
}

let t: TestApp;
let exported: Map<string, string>;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey: testAdminKey, metrics: createMetrics() });
  // A request through a provider and a stream, so every family has had its chance to appear.
  const body = { model: "mock/echo", messages: [{ role: "user", content: "hi" }] };
  await (await t.app.request(postJson("/v1/chat/completions", body, t.apiKey))).text();
  await (await t.app.request(postJson("/v1/chat/completions", { ...body, stream: true }, t.apiKey))).text();
  const response = await t.app.request("/metrics", { headers: { authorization: `Bearer ${testAdminKey}` } });
  exported = parseExposition(await response.text()).types;
});
afterAll(async () => t?.close());

async function referenced(): Promise<Map<string, Set<string>>> {
  const names = new Map<string, Set<string>>();
  const note = (name: string, where: string) => {
    if (!names.has(name)) names.set(name, new Set());
    names.get(name)?.add(where);
  };
  const anyBreakwaterName = (text: string, where: string) => {
    for (const [name] of text.matchAll(/\bbreakwater_[a-z0-9_]+/g)) note(name, where);
  };

  const rulesFile = "infra/observability/prometheus-alerts.yml";
  const rules = await readFile(repo(rulesFile), "utf8");
  const expressions = ruleExpressions(rules);
  expect(expressions.length).toBe([...rules.matchAll(/^\s*- alert:/gm)].length);
  for (const expr of expressions) for (const name of metricsIn(expr)) note(name, rulesFile);
  anyBreakwaterName(rules, rulesFile);

  const dashboardFile = "infra/observability/grafana-dashboard.json";
  const dashboard = await readFile(repo(dashboardFile), "utf8");
  const dashboardExprs = dashboardExpressions(JSON.parse(dashboard));
  expect(dashboardExprs.length).toBeGreaterThan(20);
  for (const expr of dashboardExprs) for (const name of metricsIn(expr)) note(name, dashboardFile);
  anyBreakwaterName(dashboard, dashboardFile);

  for (const file of (await readdir(repo("infra/modules/alarms"))).filter((name) => name.endsWith(".tf"))) {
    anyBreakwaterName(await readFile(repo(`infra/modules/alarms/${file}`), "utf8"), `infra/modules/alarms/${file}`);
  }
  return names;
}

it("reads metric names out of PromQL, leaving functions, labels and keywords aside", () => {
  expect(
    metricsIn('histogram_quantile(0.95, sum by (le, route) (rate(x_seconds_bucket{route=~"/v1/.*"}[5m]))) > 30 and on (a) up_total'),
  ).toEqual(["x_seconds_bucket", "up_total"]);
});

it("every metric the alerts, the dashboard and the alarms name is one the service exports", async () => {
  const names = await referenced();
  expect(names.has("breakwater_circuit_breakers_open")).toBe(true);
  expect(names.has("breakwater_audit_backlog_events")).toBe(true);
  const known = (name: string) =>
    edgeMetric.test(name) ? edgeExported.has(familyOf(name, edgeExported)) : exported.has(familyOf(name, exported));
  const missing = [...names].filter(([name]) => !known(name)).map(([name, where]) => `${name} (${[...where].join(", ")})`);
  expect(missing).toEqual([]);
});
