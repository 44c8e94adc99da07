locals {
  # The Worker's code-side facts, the same as wrangler.toml's top level (test/terraform
  # compares them): a wrangler deploy must never disagree with what Terraform set.
  compatibility_date  = "2026-05-01"
  compatibility_flags = ["enable_request_signal"]
  durable_objects = {
    RATE_LIMITER       = "RateLimiter"
    ORIGIN_BREAKER     = "OriginBreaker"
    METRICS_AGGREGATOR = "MetricsAggregator"
  }
  durable_object_migrations = [
    { tag = "v1", new_sqlite_classes = ["RateLimiter"] },
    { tag = "v2", new_sqlite_classes = ["OriginBreaker"] },
    { tag = "v3", new_sqlite_classes = ["MetricsAggregator"] },
  ]

  plain_text = merge(var.vars, { REGIONAL_ORIGINS = var.regional_origins })
  secrets = {
    EDGE_SIGNING_SECRET      = var.edge_signing_secret
    UPSTASH_REDIS_REST_URL   = var.upstash_rest_url
    UPSTASH_REDIS_REST_TOKEN = var.upstash_rest_token
    METRICS_API_KEY          = var.metrics_api_key
  }
}

# Terraform owns the Worker's settings (bindings, secrets, Durable Object namespaces); wrangler
# ships code (versions, gradual deployments, rollbacks). See infra/README.md for why.
resource "cloudflare_workers_script" "edge" {
  account_id          = var.account_id
  script_name         = var.script_name
  main_module         = "index.js"
  content_file        = var.bundle_path
  content_sha256      = filesha256(var.bundle_path)
  compatibility_date  = local.compatibility_date
  compatibility_flags = local.compatibility_flags

  bindings = concat(
    [for name, class_name in local.durable_objects : { name = name, type = "durable_object_namespace", class_name = class_name }],
    [for name, value in local.plain_text : { name = name, type = "plain_text", text = value }],
    [for name, value in local.secrets : { name = name, type = "secret_text", text = value }],
  )

  # Applied when Terraform creates the Worker; later migrations ship with the code that
  # defines their classes (wrangler deploy), which is why Terraform ignores them afterwards.
  migrations = {
    new_tag = local.durable_object_migrations[length(local.durable_object_migrations) - 1].tag
    steps   = [for migration in local.durable_object_migrations : { new_sqlite_classes = migration.new_sqlite_classes }]
  }

  observability = {
    enabled = true
  }

  lifecycle {
    # Code reaches production through wrangler's versions and gradual deployments; a later
    # apply must not roll it back to whatever bundle the applying machine has.
    ignore_changes = [content_file, content_sha256, migrations]
  }
}

resource "cloudflare_workers_custom_domain" "edge" {
  account_id = var.account_id
  zone_id    = var.zone_id
  hostname   = var.hostname
  service    = cloudflare_workers_script.edge.script_name
}

# Only the custom domain serves the API: no workers.dev address or preview URLs beside it.
resource "cloudflare_workers_script_subdomain" "edge" {
  account_id       = var.account_id
  script_name      = cloudflare_workers_script.edge.script_name
  enabled          = false
  previews_enabled = false
}
