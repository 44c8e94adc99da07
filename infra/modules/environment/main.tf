locals {
  name      = "breakwater-${var.environment}"
  vpc_cidrs = [var.regions.primary.vpc_cidr, var.regions.secondary.vpc_cidr]

  # REGIONAL_ORIGINS (edge/origins/list.ts): `name:CONTINENTS=url` in order of preference,
  # each url the https name of a region's load balancer.
  regional_origins = join(" ", [
    "${var.regions.primary.origin_name}:${join("+", var.regions.primary.continents)}=${module.region_primary.origin_url}",
    "${var.regions.secondary.origin_name}:${join("+", var.regions.secondary.continents)}=${module.region_secondary.origin_url}",
  ])
}
