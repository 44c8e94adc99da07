module "upstash" {
  source             = "../upstash"
  name               = local.name
  primary_region     = var.regions.primary.aws_region
  read_regions       = [var.regions.secondary.aws_region]
  monthly_budget_usd = var.sizes.upstash_budget_usd
}

module "secrets" {
  source             = "../aws-secrets"
  name_prefix        = "breakwater/${var.environment}"
  replica_region     = var.regions.secondary.aws_region
  upstash_rest_token = module.upstash.rest_token
  redis_urls = {
    (var.regions.primary.origin_name)   = module.region_primary.redis_url
    (var.regions.secondary.origin_name) = module.region_secondary.redis_url
  }
}
