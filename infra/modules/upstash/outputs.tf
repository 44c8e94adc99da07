output "rest_url" {
  value = "https://${upstash_redis_database.edge.endpoint}"
}

output "rest_token" {
  value     = upstash_redis_database.edge.rest_token
  sensitive = true
}

output "database_id" {
  value = upstash_redis_database.edge.database_id
}
