variable "name" {
  type = string
}

variable "requester" {
  description = "The primary region's VPC: its id, range and private route tables."
  type = object({
    vpc_id          = string
    cidr            = string
    route_table_ids = list(string)
  })
}

variable "accepter" {
  description = "The secondary region's VPC, reached through the aws.accepter provider."
  type = object({
    vpc_id          = string
    cidr            = string
    route_table_ids = list(string)
    region          = string
  })
}

variable "route_table_count" {
  description = "How many private route tables each side has (known at plan time, unlike their ids)."
  type        = number
}
