variable "identifier" {
  type = string
}

variable "source_db" {
  description = "The primary: its identifier for a replica in the same region, its ARN for one in another."
  type        = string
}

variable "cross_region" {
  description = "A replica in another region than the primary needs its own encryption key there."
  type        = bool
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "client_cidrs" {
  type = list(string)
}

variable "instance_class" {
  type = string
}

variable "parameter_group_family" {
  type = string
}

variable "backup_retention_days" {
  description = "Backups on the replica, so that once promoted it is a primary with point-in-time recovery from the start."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  type    = bool
  default = true
}
