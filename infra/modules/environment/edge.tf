module "edge" {
  source              = "../cloudflare-edge"
  account_id          = var.cloudflare_account_id
  zone_id             = var.cloudflare_zone_id
  script_name         = var.edge.script_name
  hostname            = var.edge.hostname
  bundle_path         = var.edge_bundle_path
  vars                = var.edge.vars
  regional_origins    = local.regional_origins
  edge_signing_secret = module.secrets.edge_signing_secret
  metrics_api_key     = module.secrets.metrics_api_key
  upstash_rest_url    = module.upstash.rest_url
  upstash_rest_token  = module.upstash.rest_token
}
