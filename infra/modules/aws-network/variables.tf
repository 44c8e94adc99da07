variable "name" {
  description = "Prefix of every name and Name tag, e.g. breakwater-production-us-east."
  type        = string
}

variable "cidr" {
  description = "The VPC's address range. The two regions' ranges must not overlap: they are peered."
  type        = string
}

variable "az_count" {
  description = "Availability zones used: one public and one private subnet in each."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "An ALB and a Multi-AZ database need at least two zones; the subnet plan holds four."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for every private subnet (cheaper, one zone's outage cuts egress) instead of one per zone."
  type        = bool
  default     = false
}
