# Tenants' last commit positions, shared by this region's tasks so a read after a write sees
# it whichever task serves it. Losing the contents is harmless (reads go to the primary until
# positions are known again), hence no snapshots.
resource "aws_elasticache_subnet_group" "positions" {
  name       = "${var.name}-positions"
  subnet_ids = var.network.private_subnet_ids
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis from the regional tasks"
  vpc_id      = var.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_tasks" {
  security_group_id            = aws_security_group.redis.id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_elasticache_replication_group" "positions" {
  replication_group_id       = "${var.name}-positions"
  description                = "Breakwater ${var.environment} read-your-writes positions (${var.region_name})"
  engine                     = "valkey"
  engine_version             = "8.0"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.positions.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = var.redis_auth_token
  # ROTATE keeps the previous token valid beside the new one: tasks started before a rotation keep working.
  auth_token_update_strategy = "ROTATE"
  snapshot_retention_limit   = 0
  apply_immediately          = true
}
