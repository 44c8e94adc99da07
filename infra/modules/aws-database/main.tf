resource "aws_db_subnet_group" "this" {
  name       = var.identifier
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "this" {
  name        = "${var.identifier}-postgres"
  description = "PostgreSQL from the regional tasks of both regions"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each          = toset(var.client_cidrs)
  security_group_id = aws_security_group.this.id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
  description       = "regional tasks"
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.identifier}-pg${var.engine_version}"
  family = "postgres${var.engine_version}"

  # Credentials and audit rows never cross a network in clear text.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Replicas answer reads while the primary vacuums rows they still read, instead of cancelling those reads.
  parameter {
    name  = "hot_standby_feedback"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "primary" {
  identifier                      = var.identifier
  engine                          = "postgres"
  engine_version                  = var.engine_version
  instance_class                  = var.instance_class
  allocated_storage               = var.allocated_storage_gb
  max_allocated_storage           = var.max_allocated_storage_gb
  storage_type                    = "gp3"
  storage_encrypted               = true
  db_name                         = var.database_name
  username                        = var.master_username
  manage_master_user_password     = true
  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.this.id]
  parameter_group_name            = aws_db_parameter_group.this.name
  multi_az                        = var.multi_az
  backup_retention_period         = var.backup_retention_days
  deletion_protection             = var.deletion_protection
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${var.identifier}-final"
  copy_tags_to_snapshot           = true
  auto_minor_version_upgrade      = true
  performance_insights_enabled    = true
  enabled_cloudwatch_logs_exports = ["postgresql"]
  # Changes wait for the maintenance window unless someone applies them on purpose.
  apply_immediately = false
}

# RDS rotates the password itself (managed rotation: no Lambda). The regional service reads
# the secret by reference and reads it again when Postgres answers 28P01, so a rotation needs
# no restart. Rotation keeps the previous password valid only until it completes.
resource "aws_secretsmanager_secret_rotation" "master" {
  secret_id = aws_db_instance.primary.master_user_secret[0].secret_arn
  # The password RDS just generated is fresh; the first rotation can wait for the schedule.
  rotate_immediately = false
  rotation_rules {
    automatically_after_days = var.password_rotation_days
  }
}
