variable "region" {
  description = "Where the state lives; the environment roots' backend blocks name the same region."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket" {
  description = "A globally unique bucket name, e.g. <company>-breakwater-terraform-state."
  type        = string
}

variable "lock_table" {
  description = "The environment roots' backend blocks name this table."
  type        = string
  default     = "breakwater-terraform-locks"
}
