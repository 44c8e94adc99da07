terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = { source = "hashicorp/aws", version = "6.25.0" }
  }
  # Local state on purpose: this root creates the bucket every other root keeps its state in.
  # Its state file holds no secret; keep it with your operations records.
}
