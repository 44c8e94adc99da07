module "network_primary" {
  source             = "../aws-network"
  name               = "${local.name}-${var.regions.primary.origin_name}"
  cidr               = var.regions.primary.vpc_cidr
  single_nat_gateway = var.sizes.single_nat_gateway
}

module "network_secondary" {
  source             = "../aws-network"
  providers          = { aws = aws.secondary }
  name               = "${local.name}-${var.regions.secondary.origin_name}"
  cidr               = var.regions.secondary.vpc_cidr
  single_nat_gateway = var.sizes.single_nat_gateway
}

module "peering" {
  source            = "../aws-peering"
  providers         = { aws = aws, aws.accepter = aws.secondary }
  name              = local.name
  route_table_count = 2
  requester = {
    vpc_id          = module.network_primary.vpc_id
    cidr            = var.regions.primary.vpc_cidr
    route_table_ids = module.network_primary.private_route_table_ids
  }
  accepter = {
    vpc_id          = module.network_secondary.vpc_id
    cidr            = var.regions.secondary.vpc_cidr
    route_table_ids = module.network_secondary.private_route_table_ids
    region          = var.regions.secondary.aws_region
  }
}
