provider "aws" {
  region = local.regions.primary.aws_region
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "secondary"
  region = local.regions.secondary.aws_region
  default_tags {
    tags = local.tags
  }
}

# Credentials come from the environment, never from files: CLOUDFLARE_API_TOKEN for
# Cloudflare, UPSTASH_EMAIL and UPSTASH_API_KEY for Upstash, the usual AWS chain for AWS.
provider "cloudflare" {}

provider "upstash" {}

provider "random" {}
