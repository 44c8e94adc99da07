variable "environment" {
  description = "staging or production: in every name, and the wrangler environment."
  type        = string
}

variable "regions" {
  description = "The primary region (database primary) and the secondary (a cross-region replica); the default aws provider is the primary's, aws.secondary the other's."
  type = object({
    primary = object({
      aws_region      = string
      origin_name     = string
      continents      = list(string)
      origin_hostname = string
      vpc_cidr        = string
    })
    secondary = object({
      aws_region      = string
      origin_name     = string
      continents      = list(string)
      origin_hostname = string
      vpc_cidr        = string
    })
  })
}

variable "edge" {
  description = "The Worker: wrangler.toml's [env.<environment>] name, custom-domain route and vars (test/terraform compares them)."
  type = object({
    script_name = string
    hostname    = string
    vars        = map(string)
  })
}

variable "database_hostname" {
  description = "The name the services reach the primary database by (a DNS-only record in the Cloudflare zone). Moving it to a promoted replica moves every service's writes without touching a task."
  type        = string
}

variable "cloudflare_account_id" {
  type = string
}

variable "cloudflare_zone_id" {
  type = string
}

variable "edge_bundle_path" {
  type = string
}

variable "image_tag" {
  type = string
}

variable "sizes" {
  description = "What differs in size between staging and production."
  type = object({
    database_instance_class = string
    replica_instance_class  = string
    database_multi_az       = bool
    min_tasks               = number
    max_tasks               = number
    task_cpu                = number
    task_memory             = number
    redis_node_type         = string
    single_nat_gateway      = bool
    upstash_budget_usd      = number
  })
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "provider_key_names" {
  type    = list(string)
  default = []
}

variable "operator_cidrs" {
  description = "Addresses allowed to reach the regions' load balancers directly (the admin API)."
  type        = list(string)
  default     = []
}

variable "alarm_email" {
  type    = string
  default = null
}
