variable "name" {
  description = "Names the region's load balancer, cluster, service and cache, e.g. breakwater-production-us-east."
  type        = string
  validation {
    condition     = length(var.name) <= 32 && can(regex("^[a-z][a-z0-9-]*$", var.name))
    error_message = "Load balancer names take at most 32 lowercase letters, digits and hyphens."
  }
}

variable "environment" {
  type = string
}

variable "region_name" {
  description = "REGION of the service (its audit chain's name) and the origin's name at the edge, e.g. us-east."
  type        = string
}

variable "network" {
  type = object({
    vpc_id             = string
    vpc_cidr           = string
    public_subnet_ids  = list(string)
    private_subnet_ids = list(string)
  })
}

variable "origin_hostname" {
  description = "The load balancer's TLS name; the edge reaches this region at https://<origin_hostname>."
  type        = string
}

variable "cloudflare_zone_id" {
  description = "The zone holding origin_hostname and its certificate validation records."
  type        = string
}

variable "edge_ingress_cidrs" {
  description = "Who may open connections to the load balancer: Cloudflare's addresses, where the edge's requests come from."
  type        = list(string)
}

variable "operator_cidrs" {
  description = "Operators' addresses (VPN, office) that may reach the load balancer directly, for /admin. Regional still asks for the admin key there, and takes /v1 only signed by the edge."
  type        = list(string)
  default     = []
}

variable "image_tag" {
  description = "The regional image to run (pushed to this region's ECR repository). Changing it rolls the service."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64, as the image was built."
  type        = string
  default     = "X86_64"
}

variable "task_cpu" {
  description = "CPU units per task (1024 = one vCPU)."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "MiB per task."
  type        = number
  default     = 2048
}

variable "min_tasks" {
  type = number
}

variable "max_tasks" {
  type = number
}

variable "cpu_target_percent" {
  description = "Average CPU the service scales to hold."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Requests per task and minute the service scales to hold (ALBRequestCountPerTarget)."
  type        = number
  default     = 3000
}

variable "database" {
  description = "Where this region writes (the primary's DNS name; the primary may be in the other region) and reads (replicas in this region)."
  type = object({
    primary_address     = string
    replica_addresses   = list(string)
    port                = number
    name                = string
    username            = string
    password_secret_arn = string
  })
}

variable "redis_node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "redis_auth_token" {
  type      = string
  sensitive = true
}

variable "secret_names" {
  description = "The aws-secrets module's names; every secret here is replicated into this region under that name."
  type = object({
    admin_api_key           = string
    audit_checkpoint_secret = string
    edge_signing_secret     = string
    redis_url               = string
    upstash_rest_token      = string
    provider_keys           = string
  })
}

variable "provider_key_names" {
  description = "Provider keys to hand the service, each a key of the provider-keys secret's JSON."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for name in var.provider_key_names : contains(["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "VASTAI_API_KEY", "IONET_API_KEY"], name)])
    error_message = "Only OPENAI_API_KEY, ANTHROPIC_API_KEY, VASTAI_API_KEY and IONET_API_KEY are read from the environment."
  }
}

variable "upstash_rest_url" {
  type = string
}

variable "routes_file" {
  description = "ROUTES_FILE: a routes JSON inside the image; null serves every provider/model as its own route."
  type        = string
  default     = null
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "shutdown_grace_seconds" {
  description = "SHUTDOWN_GRACE_MS: in-flight requests may finish this long after SIGTERM."
  type        = number
  default     = 30
  validation {
    condition     = var.shutdown_grace_seconds <= 100
    error_message = "Fargate waits at most 120 s after SIGTERM; keep room for the process to exit."
  }
}

variable "deregistration_delay_seconds" {
  description = "How long the load balancer lets a draining task finish its requests (streams included) before ECS stops it."
  type        = number
  default     = 120
}

variable "deletion_protection" {
  type    = bool
  default = true
}
