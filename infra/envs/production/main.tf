locals {
  environment = "production"
  tags        = { Project = "breakwater", Environment = local.environment, ManagedBy = "terraform" }

  regions = {
    primary = {
      aws_region      = "us-east-1"
      origin_name     = "us-east"
      continents      = ["NA", "SA"]
      origin_hostname = "us-east.origin.breakwater.example.com"
      vpc_cidr        = "10.10.0.0/16"
    }
    secondary = {
      aws_region      = "eu-west-1"
      origin_name     = "eu-west"
      continents      = ["EU", "AF"]
      origin_hostname = "eu-west.origin.breakwater.example.com"
      vpc_cidr        = "10.11.0.0/16"
    }
  }

  # wrangler.toml's [env.production] says the same (name, route, vars); test/terraform compares them.
  edge = {
    script_name = "breakwater-edge-production"
    hostname    = "api.breakwater.example.com"
    vars = {
      ORIGIN_BREAKER_FAILURES  = "3"
      ORIGIN_BREAKER_WINDOW_S  = "10"
      ORIGIN_BREAKER_OPEN_S    = "5"
      ORIGIN_TIMEOUT_MS        = "120000"
      KEY_CACHE_TTL_S          = "5"
      AUTH_FAILURES_PER_MINUTE = "20"
      KEY_LIMIT_ON_ERROR       = "open"
      TENANT_LIMIT_ON_ERROR    = "open"
      AUTH_LIMIT_ON_ERROR      = "open"
      CACHE_MODELS_TTL_S       = "60"
      CACHE_EMBEDDINGS_TTL_S   = "3600"
      CACHE_CHAT_TTL_S         = "300"
      CACHE_GPU_OFFERS_TTL_S   = "5"
      CACHE_STALE_IF_ERROR_S   = "600"
      MAX_JSON_DEPTH           = "64"
    }
  }
}

module "breakwater" {
  source    = "../../modules/environment"
  providers = { aws = aws, aws.secondary = aws.secondary }

  environment           = local.environment
  regions               = local.regions
  edge                  = local.edge
  cloudflare_account_id = var.cloudflare_account_id
  cloudflare_zone_id    = var.cloudflare_zone_id
  database_hostname     = "primary.db.breakwater.example.com"
  edge_bundle_path      = "${path.root}/../../../dist/edge/index.js"
  image_tag             = var.image_tag
  alarm_email           = var.alarm_email
  operator_cidrs        = var.operator_cidrs
  provider_key_names    = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
  deletion_protection   = true

  sizes = {
    database_instance_class = "db.r7g.large"
    replica_instance_class  = "db.r7g.large"
    database_multi_az       = true
    min_tasks               = 2
    max_tasks               = 20
    task_cpu                = 1024
    task_memory             = 2048
    redis_node_type         = "cache.t4g.small"
    single_nat_gateway      = false
    upstash_budget_usd      = 200
  }
}
