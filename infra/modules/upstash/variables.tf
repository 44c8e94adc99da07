variable "name" {
  type = string
}

variable "primary_region" {
  description = "Where writes go; the regional primary's AWS region keeps key invalidations short."
  type        = string
}

variable "read_regions" {
  description = "Read copies near the other regions' edge locations."
  type        = list(string)
  default     = []
}

variable "monthly_budget_usd" {
  description = "Upstash throttles the database past this spend instead of billing more."
  type        = number
  default     = 50
}
