variable "name_prefix" {
  description = "Secret names start with it, e.g. breakwater/production; the regional tasks' IAM policy lists each name."
  type        = string
}

variable "replica_region" {
  description = "Every secret is replicated there under the same name, so the secondary region's tasks read it locally."
  type        = string
}

variable "upstash_rest_token" {
  description = "The edge cache's Upstash token; regional deletes revoked keys' cached records with it."
  type        = string
  sensitive   = true
}

variable "redis_urls" {
  description = "Each region's REDIS_URL by region name (from the aws-region modules)."
  type        = map(string)
  sensitive   = true
}

variable "recovery_window_days" {
  description = "A deleted secret can be restored for this long."
  type        = number
  default     = 30
}
