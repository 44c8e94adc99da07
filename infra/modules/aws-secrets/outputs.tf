output "names" {
  description = "Each secret's name, the same in both regions (replicas keep the name)."
  value = {
    admin_api_key           = aws_secretsmanager_secret.admin_api_key.name
    audit_checkpoint_secret = aws_secretsmanager_secret.audit_checkpoint_secret.name
    edge_signing_secret     = aws_secretsmanager_secret.edge_signing_secret.name
    metrics_api_key         = aws_secretsmanager_secret.metrics_api_key.name
    redis_url               = aws_secretsmanager_secret.redis_url.name
    upstash_rest_token      = aws_secretsmanager_secret.upstash_rest_token.name
    provider_keys           = aws_secretsmanager_secret.provider_keys.name
  }
}

output "edge_signing_secret" {
  description = "AWSCURRENT of the signing secret, for the Worker's secret binding."
  value       = data.aws_secretsmanager_secret_version.edge_signing_secret.secret_string
  sensitive   = true
}

output "metrics_api_key" {
  description = "AWSCURRENT of the metrics key, for the Worker's secret binding."
  value       = data.aws_secretsmanager_secret_version.metrics_api_key.secret_string
  sensitive   = true
}

output "redis_auth_token" {
  description = "For the ElastiCache groups' AUTH; the services read it inside their REDIS_URL."
  value       = random_password.redis_auth_token.result
  sensitive   = true
}
