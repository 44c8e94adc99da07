import { parseSecretRef } from "../../regional/providers/secret-ref.ts";
import type { CheckContext } from "./check-context.ts";
import { expressionFacts } from "./expressions.ts";
import { bodies, isObject, type HclValue, type TfModule } from "./hcl.ts";
import { moduleSites, valueSites } from "./sites.ts";
import { trace } from "./secret-trace.ts";

export const regionModuleDir = "modules/aws-region";

function regionModule(context: CheckContext): TfModule {
  const module = context.tree.modules.get(regionModuleDir);
  if (!module) throw new Error(`infra/${regionModuleDir} is missing`);
  return module;
}

/** The task definition's environment: the literal keys of local.environment in modules/aws-region. */
export function taskEnvironment(context: CheckContext): Record<string, HclValue> {
  const environment = regionModule(context).locals.get("environment")?.body;
  if (!isObject(environment)) throw new Error(`${regionModuleDir}: local.environment must be an object literal, one key per variable`);
  return environment;
}

/**
 * Every variable the task sets is one regional reads; every one regional reads is set, has a
 * default, or is listed as deliberately unset (with why). The list must not go stale either.
 */
export async function taskEnvironmentProblems(
  context: CheckContext,
  config: { keys: ReadonlySet<string>; defaults: ReadonlySet<string> },
  unset: Readonly<Record<string, string>>,
): Promise<string[]> {
  const set = new Set(Object.keys(taskEnvironment(context)));
  const problems: string[] = [];
  for (const key of set) {
    if (!config.keys.has(key)) problems.push(`${regionModuleDir}: the task definition sets ${key}, which regional/config.ts does not read`);
  }
  for (const key of config.keys) {
    if (!set.has(key) && !config.defaults.has(key) && !(key in unset))
      problems.push(
        `regional/config.ts reads ${key}, which has no default and which the task definition does not set (environment.tf), nor lists as deliberately unset`,
      );
  }
  for (const key of Object.keys(unset)) {
    if (set.has(key)) problems.push(`${key} is listed as deliberately unset but the task definition sets it`);
    else if (!config.keys.has(key)) problems.push(`${key} is listed as deliberately unset but regional/config.ts no longer reads it`);
    else if (config.defaults.has(key)) problems.push(`${key} is listed as deliberately unset but has a default: drop it from the list`);
  }
  // The environment must be what the container gets.
  const task = regionModule(context).resources.get("aws_ecs_task_definition");
  const definitions = [...(task?.values() ?? [])].map(({ body }) => body.container_definitions);
  const readsEnvironment = await Promise.all(
    definitions.map(async (text) => typeof text === "string" && (await expressionFacts(text)).references.includes("local.environment")),
  );
  if (!readsEnvironment.some(Boolean)) problems.push(`${regionModuleDir}: no container definition is built from local.environment`);
  return problems;
}

/**
 * `secretsmanager:${expression}#key` inside an HCL string: the expression naming the secret,
 * and the key when it is literal. Not preceded by `:`, which would make it part of an ARN.
 */
const secretReference = /(?<![:\w])secretsmanager:\$\{([^}]+)\}(?:#([A-Za-z0-9_-]+|\$\{[^}]+\}))?/g;

export interface SecretReference {
  /** Where in modules/aws-region it stands, e.g. `local.environment.ADMIN_API_KEY`. */
  where: string;
  /** The expression naming the secret, e.g. `var.secret_names.admin_api_key`. */
  source: string;
  /** The JSON key, when literal (`password`); dynamic keys (`${name}`) are the operator's or per region. */
  jsonKey?: string;
}

export function secretReferences(context: CheckContext): SecretReference[] {
  const found: SecretReference[] = [];
  for (const site of moduleSites(regionModule(context))) {
    for (const match of site.text.matchAll(secretReference)) {
      const key = match[2];
      found.push({ where: site.where, source: match[1] ?? "", ...(key !== undefined && !key.startsWith("${") && { jsonKey: key }) });
    }
  }
  return found;
}

// Secrets Manager's own keys in the secret RDS manages for a master user.
const rdsSecretKeys = new Set(["username", "password", "engine", "host", "port", "dbname"]);

/**
 * Every secret the service is pointed at exists: each reference leads, through the modules that
 * pass it on, to a Secrets Manager secret Terraform declares or to the RDS-managed one; and
 * the reference is one the service's parser accepts.
 */
export function secretReferenceProblems(context: CheckContext): string[] {
  const module = regionModule(context);
  const problems: string[] = [];
  for (const reference of secretReferences(context)) {
    const at = `${regionModuleDir}: ${reference.where}`;
    const sample = `secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf${reference.jsonKey === undefined ? "" : `#${reference.jsonKey}`}`;
    const parsed = parseSecretRef(sample);
    if ("problem" in parsed) problems.push(`${at}: the service would refuse this reference: ${parsed.problem}`);
    const traced = trace(context, module, reference.source);
    if (typeof traced === "string") {
      problems.push(`${at}: ${reference.source} does not lead to a secret: ${traced}`);
      continue;
    }
    for (const resource of traced) {
      const label = `${at}: ${reference.source} → ${resource.module.dir} ${resource.type}.${resource.name}.${resource.attribute}`;
      if (resource.type === "aws_secretsmanager_secret" && ["name", "arn", "id"].includes(resource.attribute)) continue;
      if (resource.type === "aws_db_instance" && resource.attribute === "master_user_secret") {
        const body = resource.module.resources.get(resource.type)?.get(resource.name)?.body;
        if (body?.manage_master_user_password !== true) problems.push(`${label}: the instance does not let RDS manage its master password`);
        if (reference.jsonKey !== undefined && !rdsSecretKeys.has(reference.jsonKey))
          problems.push(`${label}: an RDS-managed secret has no key "${reference.jsonKey}"`);
        continue;
      }
      problems.push(`${label}: not a Secrets Manager secret`);
    }
  }
  return problems;
}

/**
 * The task role reads exactly the secrets its environment references (no more, no fewer), and
 * no policy anywhere grants Secrets Manager on every resource.
 */
export async function iamProblems(context: CheckContext): Promise<string[]> {
  const module = regionModule(context);
  const problems: string[] = [];
  const referenced = new Set(secretReferences(context).map((reference) => reference.source));
  const granted = new Set<string>();
  // What the task role's policy is built from: its statement and the ARNs it lists.
  const grants = [module.locals.get("replicated_secret_arns"), module.data.get("aws_iam_policy_document")?.get("task")];
  for (const site of grants.flatMap((grant) => (grant === undefined ? [] : valueSites(grant.body, grant.file, "task policy")))) {
    for (const reference of (await expressionFacts(site.text)).references) {
      if (reference.startsWith("var.secret_names.") || reference === "var.database.password_secret_arn") granted.add(reference);
    }
  }
  for (const source of referenced)
    if (!granted.has(source)) problems.push(`${regionModuleDir}: the task role cannot read ${source}, which the environment references`);
  for (const source of granted)
    if (!referenced.has(source))
      problems.push(`${regionModuleDir}: the task role may read ${source}, which the environment does not reference`);
  for (const each of context.tree.modules.values()) {
    for (const [name, { file, body }] of each.data.get("aws_iam_policy_document") ?? []) {
      for (const statement of bodies(body.statement)) {
        const actions = Array.isArray(statement.actions) ? statement.actions : [];
        const resources = Array.isArray(statement.resources) ? statement.resources : [];
        const secrets = actions.some((action) => typeof action === "string" && action.startsWith("secretsmanager:"));
        if (secrets && resources.some((resource) => resource === "*" || (typeof resource === "string" && resource.endsWith(":secret:*")))) {
          problems.push(`${file}: data aws_iam_policy_document.${name}: grants Secrets Manager on every secret`);
        }
      }
    }
  }
  return problems;
}

/** The load balancer's health check paths (modules/aws-region target groups). */
export function healthCheckPaths(context: CheckContext): string[] {
  const groups = regionModule(context).resources.get("aws_lb_target_group");
  return [...(groups?.values() ?? [])].flatMap(({ body }) => bodies(body.health_check).map((check) => String(check.path)));
}
