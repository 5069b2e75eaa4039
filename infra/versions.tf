terraform {
  # 1.5: check blocks, import blocks and lifecycle preconditions are all available.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
