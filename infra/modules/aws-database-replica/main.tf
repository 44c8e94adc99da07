resource "aws_db_subnet_group" "this" {
  name       = var.identifier
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "this" {
  name        = "${var.identifier}-postgres"
  description = "PostgreSQL reads from the regional tasks"
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
  name   = "${var.identifier}-${var.parameter_group_family}"
  family = var.parameter_group_family

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "hot_standby_feedback"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# An encrypted source's cross-region replica must be encrypted with a key of its own region.
resource "aws_kms_key" "replica" {
  count                   = var.cross_region ? 1 : 0
  description             = "${var.identifier} storage"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_db_instance" "replica" {
  identifier                   = var.identifier
  replicate_source_db          = var.source_db
  instance_class               = var.instance_class
  storage_type                 = "gp3"
  storage_encrypted            = true
  kms_key_id                   = var.cross_region ? aws_kms_key.replica[0].arn : null
  db_subnet_group_name         = aws_db_subnet_group.this.name
  vpc_security_group_ids       = [aws_security_group.this.id]
  parameter_group_name         = aws_db_parameter_group.this.name
  multi_az                     = false
  backup_retention_period      = var.backup_retention_days
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = true
  auto_minor_version_upgrade   = true
  performance_insights_enabled = true
  apply_immediately            = false

  lifecycle {
    # Promotion (docs/deploy.md) ends replication outside Terraform; the state is then edited on purpose.
    ignore_changes = [replicate_source_db]
  }
}
