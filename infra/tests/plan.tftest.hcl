# Plan-level tests of the root module: `terraform test` in infra/ (Terraform >= 1.11 for
# override_during; the AWS provider must be installed, e.g. from a filesystem mirror, but no AWS
# account is needed: the provider is given dummy credentials, the data sources that call AWS
# are overridden, and computed ARNs are fixed during plan).
#
#   make package      # or any zips named bin/package/{api,cohort,ingest,reach}.zip
#   cd infra && terraform init -backend=false && terraform test

provider "aws" {
  region                      = "us-west-2"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

# The modules' account lookups (STS) answer without AWS.
override_data {
  target = module.storage.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.queue.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.functions.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.api.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.schedule.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.monitoring.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.sis.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.district_access["demo-usd"].data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}
override_data {
  target = module.district_access["other"].data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

# ARNs AWS would assign, so that the policies can be checked in the plan.
override_resource {
  override_during = plan
  target          = module.storage.aws_kms_key.this
  values          = { arn = "arn:aws:kms:us-west-2:123456789012:key/test", key_id = "test" }
}
override_resource {
  override_during = plan
  target          = module.storage.aws_s3_bucket.drops
  values          = { arn = "arn:aws:s3:::pthv-reach-drops", id = "pthv-reach-drops" }
}
override_resource {
  override_during = plan
  target          = module.storage.aws_s3_bucket.reports
  values          = { arn = "arn:aws:s3:::pthv-reach-reports", id = "pthv-reach-reports", bucket_regional_domain_name = "pthv-reach-reports.s3.us-west-2.amazonaws.com" }
}
override_resource {
  override_during = plan
  target          = module.dashboard.aws_cloudfront_distribution.this
  values          = { arn = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE", domain_name = "d111111abcdef8.cloudfront.net" }
}
override_resource {
  override_during = plan
  target          = module.api.aws_apigatewayv2_api.this
  values          = { execution_arn = "arn:aws:execute-api:us-west-2:123456789012:abc123", id = "abc123", api_endpoint = "https://abc123.execute-api.us-west-2.amazonaws.com" }
}

variables {
  environment = "production"
  districts = {
    "demo-usd" = ["arn:aws:iam::210987654321:role/district-it"]
    "other"    = []
  }
  alarm_email = "ops@example.org"
  sis_connections = {
    "demo-usd/sis"    = { schedule = "cron(0 3 * * ? *)", timezone = "America/Chicago" }
    "demo-usd/clever" = { provider = "clever" }
  }
}

run "sis_connections_get_a_secret_and_a_schedule" {
  command = plan

  assert {
    condition     = output.sis_secret_names == { "demo-usd/sis" = "pthv-reach/sis/demo-usd/sis", "demo-usd/clever" = "pthv-reach/sis/demo-usd/clever" }
    error_message = "a connection's secret is named as internal/deploy.Names.SyncSecret names it, whatever its provider"
  }

  assert {
    condition     = module.sis.schedule_targets["demo-usd/clever"].input == { districtId = "demo-usd", connectionId = "clever", scheduledTime = "<aws.scheduler.scheduled-time>" }
    error_message = "a clever connection is scheduled as a OneRoster one"
  }

  assert {
    condition     = module.sis.schedule_targets["demo-usd/sis"].input == { districtId = "demo-usd", connectionId = "sis", scheduledTime = "<aws.scheduler.scheduled-time>" }
    error_message = "the schedule sends the sync function its connection and the scheduled time (sissync.Request)"
  }

  assert {
    condition     = module.sis.schedule_targets["demo-usd/sis"].timezone == "America/Chicago"
    error_message = "the schedule runs in the district's time zone"
  }

  assert {
    condition     = length(module.sis.alarm_names) == 2
    error_message = "held or failed runs, and schedules that could not start the function, alarm"
  }
}

run "rejects_a_malformed_connection_key" {
  command = plan

  variables {
    sis_connections = { "demo-usd" = {} }
  }

  expect_failures = [var.sis_connections]
}

run "rejects_connections_whose_schedules_would_be_one" {
  command = plan

  variables {
    sis_connections = { "demo-usd/sis" = {}, "demo/usd-sis" = {} }
  }

  expect_failures = [var.sis_connections]
}

run "rejects_an_unknown_provider" {
  command = plan

  variables {
    sis_connections = { "demo-usd/sis" = { provider = "powerschool" } }
  }

  expect_failures = [var.sis_connections]
}

run "names_follow_internal_deploy" {
  command = plan

  assert {
    condition     = output.table_name == "pthv-reach" && output.drops_bucket == "pthv-reach-drops" && output.reports_bucket == "pthv-reach-reports"
    error_message = "table and bucket names differ from internal/deploy.NamesFor"
  }

  assert {
    condition = output.function_names == {
      api    = "pthv-reach-api"
      cohort = "pthv-reach-cohort"
      ingest = "pthv-reach-ingest"
      reach  = "pthv-reach-reach"
      sync   = "pthv-reach-sync"
    }
    error_message = "function names differ from internal/deploy (Names.Function)"
  }

  assert {
    condition     = module.api.routes == ["GET /v1/reach", "GET /v1/reach/years", "GET /v1/districts/{id}/reach"]
    error_message = "routes differ from internal/api"
  }

  assert {
    condition     = output.cli_environment["ROLE_PREFIX"] == "pthv-reach" && output.api_endpoint == "https://abc123.execute-api.us-west-2.amazonaws.com"
    error_message = "CLI environment"
  }
}

run "district_policy_is_scoped" {
  command = plan

  assert {
    condition     = jsondecode(module.district_access["demo-usd"].policy_json).Statement[0].Resource == "arn:aws:s3:::pthv-reach-drops/drops/demo-usd/*"
    error_message = "a district may upload under its own prefix only"
  }

  assert {
    condition     = jsondecode(module.district_access["demo-usd"].policy_json).Statement[1].Resource == "arn:aws:s3:::pthv-reach-reports/reports/demo-usd/imports/*"
    error_message = "a district may read its own import reports only (never its cohort CSVs)"
  }

  assert {
    condition     = jsondecode(module.district_access["demo-usd"].policy_json).Statement[3].Resource == "arn:aws:execute-api:us-west-2:123456789012:abc123/*/GET/v1/districts/demo-usd/reach"
    error_message = "a district may call its own route only"
  }

  assert {
    condition     = jsondecode(module.district_access["demo-usd"].policy_json).Statement[4].Resource == "arn:aws:s3:::pthv-reach-reports/published/reach/districts/demo-usd/*"
    error_message = "a district may read its own part of the suppressed view only (the staff dashboard)"
  }

  assert {
    condition     = length(jsondecode(module.district_access["other"].policy_json).Statement) == 5
    error_message = "a district role holds exactly five statements"
  }
}

run "dashboard_is_private_and_strict" {
  command = plan

  assert {
    condition     = output.dashboard_url == "https://d111111abcdef8.cloudfront.net" && output.cli_environment["DASHBOARD_URL"] == output.dashboard_url
    error_message = "the dashboard's URL is the distribution's"
  }

  assert {
    condition = one([for st in jsondecode(module.dashboard.bucket_policy_json).Statement : st if st.Sid == "DashboardReadsPublic"]) == {
      Sid       = "DashboardReadsPublic"
      Effect    = "Allow"
      Action    = "s3:GetObject"
      Resource  = "arn:aws:s3:::pthv-reach-reports/public/*"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Condition = { StringEquals = { "AWS:SourceArn" = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE" } }
    }
    error_message = "the reports bucket admits the distribution only, under public/ only"
  }

  assert {
    condition     = module.dashboard.content_security_policy == "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
    error_message = "the dashboard's Content-Security-Policy"
  }
}

run "dev_has_no_subscription_without_email" {
  command = plan

  variables {
    environment = "dev"
    alarm_email = ""
    districts   = {}
  }

  assert {
    condition     = length(module.monitoring.alarm_names) == 14
    error_message = "5 functions' errors + 4 throttles (not reach, which runs one at a time) + 3 queues + held imports + the ingest queue's oldest message = 14 alarms"
  }

  assert {
    condition     = output.district_role_arns == {}
    error_message = "no district, no district role"
  }
}

run "rejects_a_bad_prefix" {
  command = plan

  variables {
    name_prefix = "PTHV_reach"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_an_unknown_environment" {
  command = plan

  variables {
    environment = "prod"
  }

  expect_failures = [var.environment]
}

run "rejects_a_retention_cloudwatch_does_not_offer" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_a_district_id_outside_the_drop_key_pattern" {
  command = plan

  variables {
    districts = { "bad/id" = [] }
  }

  expect_failures = [var.districts]
}

run "the_ingest_queue_alarms_on_its_oldest_message" {
  command = plan

  assert {
    condition = module.monitoring.ingest_queue_age_alarm == {
      name      = "pthv-reach-ingest-oldest-message-age"
      queue     = "pthv-reach-ingest"
      metric    = "ApproximateAgeOfOldestMessage"
      threshold = 3600
    }
    error_message = "the ingest queue's oldest message alarms after an hour by default"
  }
}

run "the_ingest_queue_age_alarm_takes_its_threshold" {
  command = plan

  variables {
    ingest_queue_age_alarm_seconds = 960
  }

  assert {
    condition     = module.monitoring.ingest_queue_age_alarm.threshold == 960
    error_message = "ingest_queue_age_alarm_seconds sets the alarm's threshold"
  }
}

run "rejects_an_ingest_queue_age_alarm_under_the_visibility_timeout" {
  command = plan

  variables {
    ingest_queue_age_alarm_seconds = 959
  }

  expect_failures = [var.ingest_queue_age_alarm_seconds]
}

run "plans_and_snapshots_expire" {
  command = plan

  assert {
    condition     = module.storage.reports_expiry_days == { "reports/" = 730, "plans/" = 90, "state/" = 35 }
    error_message = "reports/ after report_days (730), plans/ after plan_days (90: the approval window), state/ after state_days (35); public/ and published/ never"
  }
}

run "plan_and_state_days_are_taken" {
  command = plan

  variables {
    plan_days  = 30
    state_days = 7
  }

  assert {
    condition     = module.storage.reports_expiry_days["plans/"] == 30 && module.storage.reports_expiry_days["state/"] == 7
    error_message = "plan_days and state_days set the expiry of plans/ and state/"
  }
}

run "rejects_a_plan_window_under_30_days" {
  command = plan

  variables {
    plan_days = 29
  }

  expect_failures = [var.plan_days]
}

run "rejects_a_state_days_of_0" {
  command = plan

  variables {
    state_days = 0
  }

  expect_failures = [var.state_days]
}
