terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source                = "hashicorp/aws"
      version               = "6.25.0"
      configuration_aliases = [aws.secondary]
    }
    cloudflare = { source = "cloudflare/cloudflare", version = "5.14.0" }
    random     = { source = "hashicorp/random", version = "3.7.2" }
    upstash    = { source = "upstash/upstash", version = "2.0.1" }
  }
}
