# Values Terraform generates once. The admin key, checkpoint secret, signing secret and
# metrics key are rotated in Secrets Manager (docs/deploy.md), so their versions ignore the
# value after creation; the Redis token is rotated by replacing it here.
resource "random_password" "admin_api_key" {
  length  = 48
  special = false
}

resource "random_password" "audit_checkpoint_secret" {
  length  = 64
  special = false
}

resource "random_password" "edge_signing_secret" {
  length  = 64
  special = false
}

resource "random_password" "metrics_api_key" {
  length  = 48
  special = false
}

# ElastiCache AUTH tokens refuse some punctuation; letters and digits are always accepted
# (and need no escaping inside a URL).
resource "random_password" "redis_auth_token" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "admin_api_key" {
  name                    = "${var.name_prefix}/admin-api-key"
  description             = "ADMIN_API_KEY: the regional admin API's bearer key"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "admin_api_key" {
  secret_id     = aws_secretsmanager_secret.admin_api_key.id
  secret_string = random_password.admin_api_key.result
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "audit_checkpoint_secret" {
  name                    = "${var.name_prefix}/audit-checkpoint-secret"
  description             = "AUDIT_CHECKPOINT_SECRET: signs the audit chain's checkpoints"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "audit_checkpoint_secret" {
  secret_id     = aws_secretsmanager_secret.audit_checkpoint_secret.id
  secret_string = random_password.audit_checkpoint_secret.result
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# Regional accepts this secret's AWSCURRENT and AWSPREVIOUS versions; the edge signs with
# AWSCURRENT. That pair is what makes rotating it possible without a failed request.
resource "aws_secretsmanager_secret" "edge_signing_secret" {
  name                    = "${var.name_prefix}/edge-signing-secret"
  description             = "EDGE_SIGNING_SECRET: the edge signs every call to regional with it"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "edge_signing_secret" {
  secret_id     = aws_secretsmanager_secret.edge_signing_secret.id
  secret_string = random_password.edge_signing_secret.result
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# The monitoring system's key to the edge's /metrics and /health/detailed (which answer 403
# without one): it reads it from here; the Worker gets AWSCURRENT as a secret binding.
resource "aws_secretsmanager_secret" "metrics_api_key" {
  name                    = "${var.name_prefix}/metrics-api-key"
  description             = "METRICS_API_KEY: opens the edge's /metrics and /health/detailed to the monitoring system"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "metrics_api_key" {
  secret_id     = aws_secretsmanager_secret.metrics_api_key.id
  secret_string = random_password.metrics_api_key.result
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# REDIS_URL of each region (rediss://:token@endpoint:6379) as JSON keyed by region name: the
# service reads its own region's key. Terraform owns the value, which follows the token and the
# endpoints; replacing random_password.redis_auth_token rotates it (docs/deploy.md).
resource "aws_secretsmanager_secret" "redis_url" {
  name                    = "${var.name_prefix}/redis-url"
  description             = "REDIS_URL per region (JSON: {\"<region name>\": \"rediss://...\"})"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = jsonencode(var.redis_urls)
}

# Terraform owns this one's value: it follows the Upstash database's token (rotated there).
resource "aws_secretsmanager_secret" "upstash_rest_token" {
  name                    = "${var.name_prefix}/upstash-rest-token"
  description             = "UPSTASH_REDIS_REST_TOKEN: the edge key cache's Upstash token"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

resource "aws_secretsmanager_secret_version" "upstash_rest_token" {
  secret_id     = aws_secretsmanager_secret.upstash_rest_token.id
  secret_string = var.upstash_rest_token
}

# Provider API keys come from the providers' consoles, not from Terraform: an operator puts
# them (a JSON object keyed by environment variable name, e.g. {"OPENAI_API_KEY": "sk-..."})
# before the first deployment. Terraform never sees them.
resource "aws_secretsmanager_secret" "provider_keys" {
  name                    = "${var.name_prefix}/provider-keys"
  description             = "Provider API keys as JSON: {\"OPENAI_API_KEY\": ..., \"ANTHROPIC_API_KEY\": ...}"
  recovery_window_in_days = var.recovery_window_days
  replica {
    region = var.replica_region
  }
}

# The value in force now (AWSCURRENT), whoever wrote it: the edge follows a rotation on the next apply.
data "aws_secretsmanager_secret_version" "edge_signing_secret" {
  secret_id  = aws_secretsmanager_secret.edge_signing_secret.id
  depends_on = [aws_secretsmanager_secret_version.edge_signing_secret]
}

data "aws_secretsmanager_secret_version" "metrics_api_key" {
  secret_id  = aws_secretsmanager_secret.metrics_api_key.id
  depends_on = [aws_secretsmanager_secret_version.metrics_api_key]
}
