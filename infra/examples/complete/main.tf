# A complete PTHV Reach deployment: every module of the root module, with the Lambda packages
# that `make package` writes to bin/package/ at the repository root.
#
#   make package
#   cd infra/examples/complete
#   terraform init
#   terraform apply -var environment=production -var 'alarm_email=ops@example.org'

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "pthv_reach" {
  source = "../.."

  name_prefix = var.name_prefix
  environment = var.environment

  # The zips `make package` builds (one linux/arm64 bootstrap each).
  package_dir = "${path.module}/../../../bin/package"

  national_principals = var.national_principals
  districts           = var.districts
  alarm_email         = var.alarm_email
  log_level           = var.log_level
  log_retention_days  = var.log_retention_days
  nightly_cron        = var.nightly_cron
  timezone            = var.timezone
}
