variable "account_id" {
  type = string
}

variable "zone_id" {
  type = string
}

variable "script_name" {
  description = "The Worker's name: wrangler.toml's [env.<environment>] name."
  type        = string
}

variable "hostname" {
  description = "The public API's host, served by the Worker as a custom domain."
  type        = string
}

variable "bundle_path" {
  description = "The Worker as `npm run build` leaves it (wrangler deploy --dry-run --outdir dist/edge)."
  type        = string
}

variable "vars" {
  description = "Plain-text settings: wrangler.toml's [env.<environment>.vars] without REGIONAL_ORIGINS."
  type        = map(string)
}

variable "regional_origins" {
  description = "REGIONAL_ORIGINS, built from the regions' load balancers."
  type        = string
}

variable "edge_signing_secret" {
  type      = string
  sensitive = true
}

variable "upstash_rest_url" {
  type = string
}

variable "upstash_rest_token" {
  type      = string
  sensitive = true
}

variable "metrics_api_key" {
  description = "METRICS_API_KEY: what the edge's /metrics and /health/detailed take as bearer key (32+ characters)."
  type        = string
  sensitive   = true
}
