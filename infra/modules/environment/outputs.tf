output "regional_origins" {
  description = "The Worker's REGIONAL_ORIGINS; wrangler.toml's [env.<environment>.vars] holds the same."
  value       = local.regional_origins
}

output "edge_url" {
  value = module.edge.url
}

output "worker_name" {
  value = module.edge.script_name
}

output "ecr_repository_urls" {
  description = "Push each image to both: each region pulls from its own repository."
  value = {
    primary   = module.region_primary.ecr_repository_url
    secondary = module.region_secondary.ecr_repository_url
  }
}

output "ecs_services" {
  value = {
    primary   = { region = var.regions.primary.aws_region, cluster = module.region_primary.cluster_name, service = module.region_primary.service_name }
    secondary = { region = var.regions.secondary.aws_region, cluster = module.region_secondary.cluster_name, service = module.region_secondary.service_name }
  }
}

output "database" {
  value = {
    primary           = module.database.identifier
    replica_primary   = module.replica_primary.identifier
    replica_secondary = module.replica_secondary.identifier
    password_secret   = module.database.master_user_secret_arn
  }
}

output "secret_names" {
  value = module.secrets.names
}

output "alarm_topics" {
  value = {
    primary   = module.alarms_primary.topic_arn
    secondary = module.alarms_secondary.topic_arn
  }
}

output "upstash_database_id" {
  value = module.upstash.database_id
}
