variable "identifier" {
  description = "The primary instance's name, e.g. breakwater-production."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets, in at least two zones."
  type        = list(string)
}

variable "client_cidrs" {
  description = "Address ranges that may connect on 5432: both regions' VPCs (tasks write here from either)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major version; RDS applies minor versions in the maintenance window."
  type        = string
  default     = "17"
}

variable "instance_class" {
  type = string
}

variable "allocated_storage_gb" {
  type    = number
  default = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "A synchronous standby in another zone: a zone's loss fails over in a minute or two, without promoting a replica."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Point-in-time recovery window; also what read replicas need (it must be above 0)."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "database_name" {
  type    = string
  default = "breakwater"
}

variable "master_username" {
  type    = string
  default = "breakwater"
}

variable "password_rotation_days" {
  description = "How often RDS rotates the master password it keeps in Secrets Manager."
  type        = number
  default     = 30
}
