locals {
  environment = "staging"
  tags        = { Project = "breakwater", Environment = local.environment, ManagedBy = "terraform" }

  regions = {
    primary = {
      aws_region      = "us-east-1"
      origin_name     = "us-east"
      continents      = ["NA", "SA"]
      origin_hostname = "us-east.origin.staging.breakwater.example.com"
      vpc_cidr        = "10.20.0.0/16"
    }
    secondary = {
      aws_region      = "eu-west-1"
      origin_name     = "eu-west"
      continents      = ["EU", "AF"]
      origin_hostname = "eu-west.origin.staging.breakwater.example.com"
      vpc_cidr        = "10.21.0.0/16"
    }
  }

  # wrangler.toml's [env.staging] says the same (name, route, vars); test/terraform compares them.
  edge = {
    script_name = "breakwater-edge-staging"
    hostname    = "api.staging.breakwater.example.com"
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
  database_hostname     = "primary.db.staging.breakwater.example.com"
  edge_bundle_path      = "${path.root}/../../../dist/edge/index.js"
  image_tag             = var.image_tag
  alarm_email           = var.alarm_email
  operator_cidrs        = var.operator_cidrs
  provider_key_names    = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
  # Staging is torn down and rebuilt; nothing in it must survive a destroy.
  deletion_protection = false

  sizes = {
    database_instance_class = "db.t4g.medium"
    replica_instance_class  = "db.t4g.medium"
    database_multi_az       = false
    min_tasks               = 1
    max_tasks               = 4
    task_cpu                = 512
    task_memory             = 1024
    redis_node_type         = "cache.t4g.micro"
    single_nat_gateway      = true
    upstash_budget_usd      = 20
  }
}
