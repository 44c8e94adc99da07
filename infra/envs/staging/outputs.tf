output "regional_origins" {
  value = module.breakwater.regional_origins
}

output "edge_url" {
  value = module.breakwater.edge_url
}

output "worker_name" {
  value = module.breakwater.worker_name
}

output "ecr_repository_urls" {
  value = module.breakwater.ecr_repository_urls
}

output "ecs_services" {
  value = module.breakwater.ecs_services
}

output "database" {
  value = module.breakwater.database
}

output "secret_names" {
  value = module.breakwater.secret_names
}

output "alarm_topics" {
  value = module.breakwater.alarm_topics
}
