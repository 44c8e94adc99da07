import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInfra, loadSchemas, type InfraCheck, type Schemas } from "./check-infra.ts";
import { bindingProblems, durableObjectProblems, environmentProblems, secretBindingSources } from "./check-edge.ts";
import { healthCheckPaths, iamProblems, secretReferenceProblems, secretReferences, taskEnvironmentProblems } from "./check-regional.ts";
import { edgeBindingNames, regionalConfigKeys, wranglerFacts, type WranglerFacts } from "./code-facts.ts";
import { requestRegionalHealth } from "./regional-health.ts";
import { requiredSources } from "./check-context.ts";
import { bodies, isObject } from "./hcl.ts";
import { deliberatelyUnset } from "./unset-settings.ts";

const infraRoot = fileURLToPath(new URL("../../infra", import.meta.url));
const environments = ["staging", "production"] as const;

interface CodeFacts {
  wrangler: Record<string, WranglerFacts>;
  config: { keys: ReadonlySet<string>; defaults: ReadonlySet<string> };
  edgeBindings: ReadonlySet<string>;
}

async function codeFacts(): Promise<CodeFacts> {
  const wrangler: Record<string, WranglerFacts> = { "top level": wranglerFacts() };
  for (const environment of environments) wrangler[`env.${environment}`] = wranglerFacts(environment);
  return { wrangler, config: regionalConfigKeys(), edgeBindings: await edgeBindingNames() };
}

/** The static checks and every cross-check against the code, over one parsed tree. */
async function everyProblem(check: InfraCheck, facts: CodeFacts): Promise<string[]> {
  const { context } = check;
  return [
    ...check.problems,
    ...durableObjectProblems(context, facts.wrangler),
    ...environments.flatMap((environment) =>
      environmentProblems(context, environment, facts.wrangler[`env.${environment}`] ?? wranglerFacts(environment)),
    ),
    ...bindingProblems(context, [...environments], facts.edgeBindings),
    ...(await taskEnvironmentProblems(context, facts.config, deliberatelyUnset)),
    ...secretReferenceProblems(context),
    ...(await iamProblems(context)),
  ];
}

let schemas: Schemas;
let facts: CodeFacts;
let check: InfraCheck;

// Parsed once for every test below: the provider schemas alone are ~150 MB of JSON.
beforeAll(async () => {
  schemas = await loadSchemas();
  facts = await codeFacts();
  check = await checkInfra(infraRoot, schemas);
}, 120_000);

describe("infra/ against the pinned providers' schemas", () => {
  it("parses every .tf file, and finds every resource and data type, argument, reference, module input and output, and function declared", () => {
    expect(check.problems).toEqual([]);
    // The walk reached the roots and every module (a directory it missed would pass unchecked).
    expect([...check.context.tree.modules.keys()].sort()).toEqual(
      [
        "bootstrap",
        "envs/production",
        "envs/staging",
        ...[
          "alarms",
          "aws-database",
          "aws-database-replica",
          "aws-network",
          "aws-peering",
          "aws-region",
          "aws-secrets",
          "cloudflare-edge",
          "environment",
          "upstash",
        ].map((name) => `modules/${name}`),
      ].sort(),
    );
  });

  it("pins every provider exactly at the version its schema describes, and the schema packages exactly", async () => {
    const pins = new Set<string>();
    for (const module of check.context.tree.modules.values()) {
      for (const { body } of module.terraform) {
        for (const required of bodies(body.required_providers)) {
          for (const entry of Object.values(required)) if (isObject(entry)) pins.add(`${String(entry.source)}@${String(entry.version)}`);
        }
      }
    }
    expect([...pins].sort()).toEqual([
      "cloudflare/cloudflare@5.14.0",
      "hashicorp/aws@6.25.0",
      "hashicorp/random@3.7.2",
      "upstash/upstash@2.0.1",
    ]);
    expect([...schemas.providers.values()].map((schema) => `${schema.source}@${schema.version}`).sort()).toEqual([...pins].sort());
    const packageJson = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    for (const name of ["@cdktf/hcl2json", "@cdktf/provider-aws", "@cdktf/provider-cloudflare", "@cdktf/provider-random"])
      expect(packageJson.devDependencies[name]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each(environments)("gives the %s root two AWS regions through provider aliases", (environment) => {
    const root = check.context.tree.modules.get(`envs/${environment}`);
    if (!root) throw new Error(`infra/envs/${environment} is missing`);
    expect([...root.providers.keys()].sort()).toEqual(["aws", "aws.secondary", "cloudflare", "random", "upstash"]);
    expect(requiredSources(root).get("aws")).toBe("hashicorp/aws");
    const regions = root.locals.get("regions")?.body;
    const primary = isObject(regions) && isObject(regions.primary) ? regions.primary.aws_region : undefined;
    const secondary = isObject(regions) && isObject(regions.secondary) ? regions.secondary.aws_region : undefined;
    expect(primary).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
    expect(secondary).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
    expect(primary).not.toEqual(secondary);
    expect(root.moduleCalls.get("breakwater")?.body.providers).toEqual({ aws: "${aws}", "aws.secondary": "${aws.secondary}" });
  });
});

describe("infra/ against the code", () => {
  it("gives the Worker the Durable Object classes, migrations and compatibility settings of wrangler.toml", () => {
    expect(durableObjectProblems(check.context, facts.wrangler)).toEqual([]);
  });

  it.each(environments)("matches wrangler.toml [env.%s]: Worker name, custom domain, vars and REGIONAL_ORIGINS", (environment) => {
    expect(environmentProblems(check.context, environment, wranglerFacts(environment))).toEqual([]);
  });

  it("binds nothing to the Worker that edge/env.ts does not declare", () => {
    expect(bindingProblems(check.context, [...environments], facts.edgeBindings)).toEqual([]);
  });

  it("gives the Worker its secrets from Secrets Manager and Upstash, METRICS_API_KEY included (else a deployed edge's /metrics answers only 403)", () => {
    // (UPSTASH_REDIS_REST_URL is bound beside them, built from the database's endpoint: no secret to trace.)
    expect(secretBindingSources(check.context)).toMatchObject({
      EDGE_SIGNING_SECRET: ["data.aws_secretsmanager_secret_version.edge_signing_secret"],
      UPSTASH_REDIS_REST_TOKEN: ["upstash_redis_database.edge"],
      METRICS_API_KEY: ["data.aws_secretsmanager_secret_version.metrics_api_key"],
    });
  });

  it("sets every variable regional/config.ts reads, unless it has a default or is deliberately unset", async () => {
    expect(await taskEnvironmentProblems(check.context, facts.config, deliberatelyUnset)).toEqual([]);
  });

  it("points every secret reference of the task at a secret Terraform declares (or RDS manages)", () => {
    const sources = secretReferences(check.context).map((reference) => reference.source);
    expect(sources).toEqual(
      expect.arrayContaining([
        "var.database.password_secret_arn",
        "var.secret_names.edge_signing_secret",
        "var.secret_names.admin_api_key",
        "var.secret_names.audit_checkpoint_secret",
        "var.secret_names.redis_url",
        "var.secret_names.upstash_rest_token",
        "var.secret_names.provider_keys",
      ]),
    );
    expect(secretReferenceProblems(check.context)).toEqual([]);
  });

  it("lets the task role read exactly the secrets its environment references, and no policy read every secret", async () => {
    expect(await iamProblems(check.context)).toEqual([]);
  });

  it("health-checks the path regional serves as readiness", async () => {
    expect(healthCheckPaths(check.context)).toEqual(["/health/ready"]);
    // A draining instance answers 503 on readiness (a missing route would be 404), liveness 200.
    expect(await requestRegionalHealth("/health/ready")).toEqual({ status: 503, body: { status: "shutting_down" } });
    expect(await requestRegionalHealth("/health/live")).toEqual({ status: 200, body: { status: "ok" } });
  });
});

/** Each: where, the text there, its misspelling, and the problem the checker must report. */
const plants = [
  [
    "a resource type",
    "modules/aws-region/alb.tf",
    'resource "aws_lb_listener" "https"',
    'resource "aws_lb_listner" "https"',
    "aws_lb_listner is not a resource type of hashicorp/aws 6.25.0",
  ],
  [
    "a data source type",
    "modules/aws-region/iam.tf",
    'data "aws_iam_policy_document" "execution"',
    'data "aws_iam_policy_documnt" "execution"',
    "aws_iam_policy_documnt is not a data source type",
  ],
  [
    "a resource argument",
    "modules/aws-database/main.tf",
    "storage_encrypted = true",
    "storage_encryptd = true",
    'no argument "storage_encryptd"',
  ],
  [
    "an argument of a nested block",
    "modules/aws-region/alb.tf",
    "healthy_threshold = 2",
    "healthy_treshold = 2",
    'health_check[0]: no argument "healthy_treshold"',
  ],
  [
    "an argument built by a for expression",
    "modules/cloudflare-edge/main.tf",
    "class_name = class_name }",
    "class_nme = class_name }",
    'bindings: no argument "class_nme"',
  ],
  [
    "a Cloudflare argument",
    "modules/cloudflare-edge/main.tf",
    "previews_enabled = false",
    "preview_enabled = false",
    'no argument "preview_enabled"',
  ],
  ["an Upstash argument", "modules/upstash/main.tf", "eviction = true", "evicton = true", 'no argument "evicton"'],
  [
    "a variable reference",
    "modules/aws-region/alb.tf",
    "var.deregistration_delay_seconds",
    "var.deregistration_delay_second",
    "var.deregistration_delay_second is not declared",
  ],
  [
    "an attribute of an object variable",
    "modules/aws-region/ecs.tf",
    "var.network.private_subnet_ids",
    "var.network.private_subnets_ids",
    'var.network has no attribute "private_subnets_ids"',
  ],
  ["a local", "modules/environment/edge.tf", "local.regional_origins", "local.regional_origin", "local.regional_origin is not declared"],
  [
    "a module output",
    "modules/environment/edge.tf",
    "module.secrets.edge_signing_secret",
    "module.secrets.edge_signing_secrets",
    'has no output "edge_signing_secrets"',
  ],
  ["a module input", "envs/production/main.tf", "image_tag = var.image_tag", "image_tags = var.image_tag", 'has no variable "image_tags"'],
  [
    "a resource attribute",
    "modules/aws-region/outputs.tf",
    "aws_lb.regional.arn_suffix",
    "aws_lb.regional.arn_sufix",
    'aws_lb has no attribute "arn_sufix"',
  ],
  ["a function", "modules/aws-region/ecs.tf", "jsonencode([{", "jsonencod([{", "calls jsonencod(), which is not a Terraform function"],
  [
    "an ignore_changes entry",
    "modules/aws-region/ecs.tf",
    "ignore_changes = [desired_count]",
    "ignore_changes = [desired_cout]",
    'ignore_changes names "desired_cout"',
  ],
  ["a provider pin", "envs/staging/versions.tf", 'version = "5.14.0"', 'version = "5.14.1"', "must pin exactly 5.14.0"],
  [
    "an attribute of a root's literal",
    "envs/staging/main.tf",
    'origin_hostname = "us-east.origin.staging',
    'origin_hostnam = "us-east.origin.staging',
    'sets "origin_hostnam", which its type does not have',
  ],
  [
    "an environment variable of the task",
    "modules/aws-region/environment.tf",
    "MOCK_PROVIDERS =",
    "MOCK_PROVIDER =",
    "sets MOCK_PROVIDER, which regional/config.ts does not read",
  ],
  [
    "an edge var",
    "envs/production/main.tf",
    'CACHE_CHAT_TTL_S = "300"',
    'CACHE_CHAT_TLL_S = "300"',
    "binding CACHE_CHAT_TLL_S, which edge/env.ts's Env does not declare",
  ],
  [
    "a Durable Object class",
    "modules/cloudflare-edge/main.tf",
    'ORIGIN_BREAKER = "OriginBreaker"',
    'ORIGIN_BREAKER = "OriginBreakr"',
    "local.durable_objects is",
  ],
  [
    "a secret's name on its way to the task",
    "modules/aws-secrets/outputs.tf",
    "admin_api_key = aws_secretsmanager_secret",
    "admin_api_kye = aws_secretsmanager_secret",
    "var.secret_names.admin_api_key does not lead to a secret",
  ],
] as const;

describe("a misspelt name anywhere in infra/", () => {
  let copy: string;
  let planted: string[];

  // One copy with every misspelling, parsed once; each must be reported on its own terms.
  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), "bw-infra-"));
    await cp(infraRoot, copy, { recursive: true });
    for (const [, file, from, to] of plants) {
      const path = join(copy, file);
      const text = await readFile(path, "utf8");
      // Alignment is terraform fmt's business: a run of spaces in `from` matches any run.
      const pattern = new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ +/g, "\\s+"), "g");
      if ([...text.matchAll(pattern)].length !== 1) throw new Error(`${file} must hold "${from}" exactly once to plant a misspelling`);
      await writeFile(path, text.replace(pattern, to));
    }
    planted = await everyProblem(await checkInfra(copy, schemas), facts);
  }, 120_000);

  afterAll(async () => {
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  it("is absent from the tree as checked in", async () => {
    expect(await everyProblem(check, facts)).toEqual([]);
  });

  it.each(plants)("is reported when it is %s (%s)", (_what, file, _from, _to, expected) => {
    const reported = planted.filter((problem) => problem.includes(expected));
    expect(reported, `nothing reported "${expected}" for ${file}; the checker said:\n${planted.join("\n")}`).not.toEqual([]);
  });
});
