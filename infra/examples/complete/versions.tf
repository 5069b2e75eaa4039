terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Keep the state of a real deployment in a shared, versioned, locked backend, e.g.:
  #
  # backend "s3" {
  #   bucket         = "my-terraform-state"
  #   key            = "pthv-reach/production.tfstate"
  #   region         = "us-west-2"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}
