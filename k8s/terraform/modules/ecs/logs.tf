# The container's stderr (JSON lines with LABARCHIVES_LOG_JSON=true) goes to one log group; the
# saved queries split it the way the log pipelines do (k8s/logging): audit lines by their logger.

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_query_definition" "audit" {
  name            = "${var.name}/audit"
  log_group_names = [aws_cloudwatch_log_group.this.name]
  query_string    = <<-QUERY
    fields @timestamp, message
    | filter logger = "labmcp.audit"
    | parse message "access * *" as tool, facts
    | sort @timestamp desc
  QUERY
}

resource "aws_cloudwatch_query_definition" "errors" {
  name            = "${var.name}/warnings-and-errors"
  log_group_names = [aws_cloudwatch_log_group.this.name]
  query_string    = <<-QUERY
    fields @timestamp, level, logger, message, exception
    | filter level in ["WARNING", "ERROR", "CRITICAL"]
    | sort @timestamp desc
  QUERY
}
