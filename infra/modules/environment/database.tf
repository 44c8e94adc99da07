# The primary and a replica in the primary region; a cross-region replica in the secondary,
# which is what gets promoted if the primary region is lost (docs/deploy.md).
module "database" {
  source              = "../aws-database"
  identifier          = local.name
  vpc_id              = module.network_primary.vpc_id
  subnet_ids          = module.network_primary.private_subnet_ids
  client_cidrs        = local.vpc_cidrs
  instance_class      = var.sizes.database_instance_class
  multi_az            = var.sizes.database_multi_az
  deletion_protection = var.deletion_protection
}

module "replica_primary" {
  source                 = "../aws-database-replica"
  identifier             = "${local.name}-replica-${var.regions.primary.origin_name}"
  source_db              = module.database.identifier
  cross_region           = false
  vpc_id                 = module.network_primary.vpc_id
  subnet_ids             = module.network_primary.private_subnet_ids
  client_cidrs           = local.vpc_cidrs
  instance_class         = var.sizes.replica_instance_class
  parameter_group_family = module.database.parameter_group_family
  deletion_protection    = var.deletion_protection
}

module "replica_secondary" {
  source                 = "../aws-database-replica"
  providers              = { aws = aws.secondary }
  identifier             = "${local.name}-replica-${var.regions.secondary.origin_name}"
  source_db              = module.database.arn
  cross_region           = true
  vpc_id                 = module.network_secondary.vpc_id
  subnet_ids             = module.network_secondary.private_subnet_ids
  client_cidrs           = local.vpc_cidrs
  instance_class         = var.sizes.replica_instance_class
  parameter_group_family = module.database.parameter_group_family
  deletion_protection    = var.deletion_protection
  depends_on             = [module.peering]
}

# Services write to this name, not to the instance's own endpoint: when the primary region is
# lost, pointing it at the promoted replica (docs/deploy.md) moves every service's writes,
# and the tasks keep their connections' password and their audit journals. Cloudflare serves
# it because it does not depend on either AWS region.
resource "cloudflare_dns_record" "database_primary" {
  zone_id = var.cloudflare_zone_id
  name    = var.database_hostname
  type    = "CNAME"
  content = module.database.address
  ttl     = 60
  proxied = false
  comment = "breakwater ${var.environment} primary database (DNS only; private addresses)"
}
