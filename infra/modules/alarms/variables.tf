variable "name" {
  description = "Prefix of the alarms' names, e.g. breakwater-production-us-east."
  type        = string
}

variable "environment" {
  type = string
}

variable "region_name" {
  description = "The service's REGION: the dimension the app's own metrics carry."
  type        = string
}

variable "alarm_email" {
  description = "Subscribed to the alarms' topic; null leaves the topic for a pager integration."
  type        = string
  default     = null
}

variable "load_balancer_arn_suffix" {
  type = string
}

variable "target_group_arn_suffix" {
  type = string
}

variable "replica_identifiers" {
  description = "The read replicas in this region."
  type        = list(string)
}

variable "error_ratio_percent" {
  description = "5xx answers (the service's and the load balancer's own) as a share of requests."
  type        = number
  default     = 5
}

variable "p99_latency_seconds" {
  description = "99th percentile time to the service's response headers (first byte of a stream)."
  type        = number
  default     = 20
}

variable "replica_lag_seconds" {
  description = "The service stops reading from a replica 2 s behind; this is the lag worth a person's attention."
  type        = number
  default     = 30
}

variable "audit_backlog_events" {
  description = "Audit events written nowhere but the local journal yet."
  type        = number
  default     = 10000
}
