resource "aws_appautoscaling_target" "regional" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.regional.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

# Two target-tracking policies: ECS scales out when either asks and in only when both allow.
resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.regional.service_namespace
  resource_id        = aws_appautoscaling_target.regional.resource_id
  scalable_dimension = aws_appautoscaling_target.regional.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Streams hold requests open while using little CPU: request count catches load CPU misses.
resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.regional.service_namespace
  resource_id        = aws_appautoscaling_target.regional.resource_id
  scalable_dimension = aws_appautoscaling_target.regional.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.regional.arn_suffix}/${aws_lb_target_group.regional.arn_suffix}"
    }
  }
}
