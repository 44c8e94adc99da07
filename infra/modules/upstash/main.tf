# The edge's L2 response cache and shared key-record cache. Global: Workers run everywhere,
# and each read goes to the nearest copy. Eviction on: everything in it is a cache.
resource "upstash_redis_database" "edge" {
  database_name  = var.name
  region         = "global"
  primary_region = var.primary_region
  read_regions   = var.read_regions
  tls            = true
  eviction       = true
  budget         = var.monthly_budget_usd
}
