data "cloudflare_ip_ranges" "edge" {}

module "region_primary" {
  source              = "../aws-region"
  name                = "${local.name}-${var.regions.primary.origin_name}"
  environment         = var.environment
  region_name         = var.regions.primary.origin_name
  origin_hostname     = var.regions.primary.origin_hostname
  cloudflare_zone_id  = var.cloudflare_zone_id
  edge_ingress_cidrs  = data.cloudflare_ip_ranges.edge.ipv4_cidrs
  operator_cidrs      = var.operator_cidrs
  image_tag           = var.image_tag
  min_tasks           = var.sizes.min_tasks
  max_tasks           = var.sizes.max_tasks
  task_cpu            = var.sizes.task_cpu
  task_memory         = var.sizes.task_memory
  redis_node_type     = var.sizes.redis_node_type
  redis_auth_token    = module.secrets.redis_auth_token
  secret_names        = module.secrets.names
  provider_key_names  = var.provider_key_names
  upstash_rest_url    = module.upstash.rest_url
  deletion_protection = var.deletion_protection
  network = {
    vpc_id             = module.network_primary.vpc_id
    vpc_cidr           = module.network_primary.vpc_cidr
    public_subnet_ids  = module.network_primary.public_subnet_ids
    private_subnet_ids = module.network_primary.private_subnet_ids
  }
  database = {
    primary_address     = cloudflare_dns_record.database_primary.name
    replica_addresses   = [module.replica_primary.address]
    port                = module.database.port
    name                = module.database.database_name
    username            = module.database.master_username
    password_secret_arn = module.database.master_user_secret_arn
  }
}

# Writes cross the peering to the primary; reads stay on this region's replica.
module "region_secondary" {
  source              = "../aws-region"
  providers           = { aws = aws.secondary }
  name                = "${local.name}-${var.regions.secondary.origin_name}"
  environment         = var.environment
  region_name         = var.regions.secondary.origin_name
  origin_hostname     = var.regions.secondary.origin_hostname
  cloudflare_zone_id  = var.cloudflare_zone_id
  edge_ingress_cidrs  = data.cloudflare_ip_ranges.edge.ipv4_cidrs
  operator_cidrs      = var.operator_cidrs
  image_tag           = var.image_tag
  min_tasks           = var.sizes.min_tasks
  max_tasks           = var.sizes.max_tasks
  task_cpu            = var.sizes.task_cpu
  task_memory         = var.sizes.task_memory
  redis_node_type     = var.sizes.redis_node_type
  redis_auth_token    = module.secrets.redis_auth_token
  secret_names        = module.secrets.names
  provider_key_names  = var.provider_key_names
  upstash_rest_url    = module.upstash.rest_url
  deletion_protection = var.deletion_protection
  network = {
    vpc_id             = module.network_secondary.vpc_id
    vpc_cidr           = module.network_secondary.vpc_cidr
    public_subnet_ids  = module.network_secondary.public_subnet_ids
    private_subnet_ids = module.network_secondary.private_subnet_ids
  }
  database = {
    primary_address     = cloudflare_dns_record.database_primary.name
    replica_addresses   = [module.replica_secondary.address]
    port                = module.database.port
    name                = module.database.database_name
    username            = module.database.master_username
    password_secret_arn = module.database.master_user_secret_arn
  }
  depends_on = [module.peering]
}

module "alarms_primary" {
  source                   = "../alarms"
  name                     = "${local.name}-${var.regions.primary.origin_name}"
  environment              = var.environment
  region_name              = var.regions.primary.origin_name
  alarm_email              = var.alarm_email
  load_balancer_arn_suffix = module.region_primary.load_balancer_arn_suffix
  target_group_arn_suffix  = module.region_primary.target_group_arn_suffix
  replica_identifiers      = [module.replica_primary.identifier]
}

module "alarms_secondary" {
  source                   = "../alarms"
  providers                = { aws = aws.secondary }
  name                     = "${local.name}-${var.regions.secondary.origin_name}"
  environment              = var.environment
  region_name              = var.regions.secondary.origin_name
  alarm_email              = var.alarm_email
  load_balancer_arn_suffix = module.region_secondary.load_balancer_arn_suffix
  target_group_arn_suffix  = module.region_secondary.target_group_arn_suffix
  replica_identifiers      = [module.replica_secondary.identifier]
}
