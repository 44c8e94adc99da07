locals {
  container_name = "regional"
  container_port = 8788

  # Secrets go to the service as `secretsmanager:` references, never as values: it resolves
  # them at start, and keeps reading the two that rotate while it runs (the signing secret's
  # current and previous versions; the database password, again whenever Postgres refuses it).
  # The task definition holds nothing secret.
  database_url = "postgres://${var.database.username}@${var.database.primary_address}:${var.database.port}/${var.database.name}?sslmode=require"
  replica_urls = [for address in var.database.replica_addresses : "postgres://${var.database.username}@${address}:${var.database.port}/${var.database.name}?sslmode=require"]
  provider_key = { for name in var.provider_key_names : name => "secretsmanager:${var.secret_names.provider_keys}#${name}" }

  # Every variable regional/config.ts reads is set here, has a default there, or is listed in
  # test/terraform as deliberately unset; that test fails on any other name.
  environment = {
    HOST                  = "0.0.0.0"
    PORT                  = tostring(local.container_port)
    REGION                = var.region_name
    LOG_LEVEL             = var.log_level
    MOCK_PROVIDERS        = "off"
    SHUTDOWN_GRACE_MS     = tostring(var.shutdown_grace_seconds * 1000)
    DATABASE_URL          = local.database_url
    DATABASE_REPLICA_URLS = join(",", local.replica_urls)
    # The RDS-managed secret, by ARN: in the secondary region it lives in the primary's region.
    DATABASE_PASSWORD        = "secretsmanager:${var.database.password_secret_arn}#password"
    REDIS_URL                = "secretsmanager:${var.secret_names.redis_url}#${var.region_name}"
    EDGE_SIGNING_SECRET      = "secretsmanager:${var.secret_names.edge_signing_secret}"
    ADMIN_API_KEY            = "secretsmanager:${var.secret_names.admin_api_key}"
    AUDIT_CHECKPOINT_SECRET  = "secretsmanager:${var.secret_names.audit_checkpoint_secret}"
    UPSTASH_REDIS_REST_URL   = var.upstash_rest_url
    UPSTASH_REDIS_REST_TOKEN = "secretsmanager:${var.secret_names.upstash_rest_token}"
    OPENAI_API_KEY           = lookup(local.provider_key, "OPENAI_API_KEY", null)
    ANTHROPIC_API_KEY        = lookup(local.provider_key, "ANTHROPIC_API_KEY", null)
    VASTAI_API_KEY           = lookup(local.provider_key, "VASTAI_API_KEY", null)
    IONET_API_KEY            = lookup(local.provider_key, "IONET_API_KEY", null)
    ROUTES_FILE              = var.routes_file
  }
}
