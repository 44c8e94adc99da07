variable "cloudflare_account_id" {
  type = string
}

variable "cloudflare_zone_id" {
  description = "The zone of the edge hostname and the origins' names (example.com below: replace it with yours)."
  type        = string
}

variable "image_tag" {
  description = "The regional image tag to run in both regions, e.g. the git commit it was built from."
  type        = string
}

variable "operator_cidrs" {
  description = "Operator addresses (CIDR) allowed to reach the admin API on the regional load balancers."
  type        = list(string)
  default     = []
}

variable "alarm_email" {
  type    = string
  default = null
}
