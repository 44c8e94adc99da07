resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "HTTPS from Cloudflare (the edge) and operators"
  vpc_id      = var.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_edge" {
  for_each          = toset(var.edge_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  description       = "Cloudflare"
}

# The admin API is not behind the edge (it forwards /v1 only): operators reach it here.
resource "aws_vpc_security_group_ingress_rule" "alb_from_operators" {
  for_each          = toset(var.operator_cidrs)
  security_group_id = aws_security_group.alb.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  description       = "operators (admin API)"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Regional tasks: traffic from the ALB; out to providers, Postgres, Redis, AWS APIs"
  vpc_id      = var.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_out" {
  security_group_id = aws_security_group.tasks.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  description       = "providers anywhere, and both regions' databases"
}

resource "aws_lb" "regional" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.network.public_subnet_ids
  drop_invalid_header_fields = true
  # Longer than the edge's ORIGIN_TIMEOUT_MS (120 s) plus a stream's longest quiet gap.
  idle_timeout               = 330
  enable_deletion_protection = var.deletion_protection
}

resource "aws_lb_target_group" "regional" {
  name                 = var.name
  port                 = local.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.network.vpc_id
  deregistration_delay = var.deregistration_delay_seconds

  # Readiness, not liveness: a task that cannot reach any database node, or is shutting
  # down, answers 503 and gets no traffic. With only the primary down it stays ready (reads
  # still work), so a database outage does not empty the target group.
  health_check {
    path                = "/health/ready"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.regional.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.origin.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.regional.arn
  }
}
