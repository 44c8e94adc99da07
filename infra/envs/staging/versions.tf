terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws        = { source = "hashicorp/aws", version = "6.25.0" }
    cloudflare = { source = "cloudflare/cloudflare", version = "5.14.0" }
    random     = { source = "hashicorp/random", version = "3.7.2" }
    upstash    = { source = "upstash/upstash", version = "2.0.1" }
  }

  # The bucket is given at init (infra/README.md): its name is global and yours to choose.
  backend "s3" {
    key            = "breakwater/staging/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "breakwater-terraform-locks"
    encrypt        = true
  }
}
