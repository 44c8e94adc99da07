resource "aws_sns_topic" "alarms" {
  name = "${var.name}-alarms"
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  actions = [aws_sns_topic.alarms.arn]
  alb     = { LoadBalancer = var.load_balancer_arn_suffix }
  # The app's own metrics, as regional's /metrics exports them (regional/observability/;
  # test/observability/metric-names.test.ts checks every name here). A collector scraping
  # METRICS_PORT (CloudWatch agent or ADOT with its Prometheus receiver) ships them to
  # CloudWatch under this namespace with the Environment and Region labels as dimensions;
  # without one the alarms have no data and stay OK (treat_missing_data).
  app_namespace  = "Breakwater"
  app_dimensions = { Environment = var.environment, Region = var.region_name }
}

resource "aws_cloudwatch_metric_alarm" "error_ratio" {
  alarm_name          = "${var.name}-5xx-ratio"
  alarm_description   = "More than ${var.error_ratio_percent}% of requests to the regional service answered 5xx for 5 minutes. docs/deploy.md#alarms"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_ratio_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "ratio"
    expression  = "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(alb5xx, 0)) / requests, 0)"
    label       = "5xx percent"
    return_data = true
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "alb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.alb
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "p99_latency" {
  alarm_name          = "${var.name}-p99-latency"
  alarm_description   = "p99 time to response headers above ${var.p99_latency_seconds}s for 5 minutes. docs/deploy.md#alarms"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.alb
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.p99_latency_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "no_healthy_tasks" {
  alarm_name          = "${var.name}-no-healthy-tasks"
  alarm_description   = "No regional task passes /health/ready: the edge fails this origin over. docs/deploy.md#alarms"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "replica_lag" {
  count               = length(var.replica_identifiers)
  alarm_name          = "${var.replica_identifiers[count.index]}-replica-lag"
  alarm_description   = "Replica ${var.replica_identifiers[count.index]} more than ${var.replica_lag_seconds}s behind its primary for 5 minutes. docs/deploy.md#alarms"
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  dimensions          = { DBInstanceIdentifier = var.replica_identifiers[count.index] }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.replica_lag_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "breaker_open" {
  alarm_name          = "${var.name}-breaker-open"
  alarm_description   = "A provider or model circuit breaker has stayed open for 10 minutes (breakwater_circuit_breakers_open). docs/deploy.md#alarms"
  namespace           = local.app_namespace
  metric_name         = "breakwater_circuit_breakers_open"
  dimensions          = local.app_dimensions
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 10
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "audit_backlog" {
  alarm_name          = "${var.name}-audit-backlog"
  alarm_description   = "More than ${var.audit_backlog_events} audit events wait in the local journal (breakwater_audit_backlog_events: queued plus journaled). docs/deploy.md#alarms"
  namespace           = local.app_namespace
  metric_name         = "breakwater_audit_backlog_events"
  dimensions          = local.app_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.audit_backlog_events
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}
