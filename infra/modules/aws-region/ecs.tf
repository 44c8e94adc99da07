resource "aws_ecr_repository" "regional" {
  name                 = "breakwater/${var.environment}/regional"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_lifecycle_policy" "regional" {
  repository = aws_ecr_repository.regional.name
  # Enough old images to roll back to, without keeping every build forever.
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 50 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "regional" {
  name              = "/breakwater/${var.environment}/regional"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enhanced"
  }
}

resource "aws_ecs_task_definition" "regional" {
  family                   = "${var.name}-regional"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([{
    name         = local.container_name
    image        = "${aws_ecr_repository.regional.repository_url}:${var.image_tag}"
    essential    = true
    environment  = [for name, value in local.environment : { name = name, value = value } if value != null]
    portMappings = [{ containerPort = local.container_port, protocol = "tcp" }]
    # SIGTERM, then the grace for in-flight requests, then a little for the process to exit.
    stopTimeout = var.shutdown_grace_seconds + 15
    # A gateway holds a socket per client and per upstream call.
    ulimits = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.regional.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "regional"
      }
    }
  }])
}

resource "aws_ecs_service" "regional" {
  name                              = "regional"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.regional.arn
  desired_count                     = var.min_tasks
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  propagate_tags                    = "SERVICE"
  health_check_grace_period_seconds = 60
  # New tasks start and turn healthy before old ones drain: capacity never dips during a rollout.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # A rollout whose tasks never turn healthy stops and goes back to the last good task definition.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.network.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.regional.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  lifecycle {
    # Autoscaling owns the count once the service runs.
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https]
}
