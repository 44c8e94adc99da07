output "origin_url" {
  description = "Where the edge reaches this region: the load balancer's TLS name."
  value       = "https://${aws_acm_certificate.origin.domain_name}"
  depends_on  = [aws_lb_listener.https, cloudflare_dns_record.origin]
}

output "load_balancer_arn_suffix" {
  value = aws_lb.regional.arn_suffix
}

output "target_group_arn_suffix" {
  value = aws_lb_target_group.regional.arn_suffix
}

output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "service_name" {
  value = aws_ecs_service.regional.name
}

output "ecr_repository_url" {
  value = aws_ecr_repository.regional.repository_url
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.regional.name
}

output "redis_url" {
  description = "This region's REDIS_URL, token included; it reaches the service only through the redis-url secret."
  value       = "rediss://:${var.redis_auth_token}@${aws_elasticache_replication_group.positions.primary_endpoint_address}:${aws_elasticache_replication_group.positions.port}"
  sensitive   = true
}
