output "identifier" {
  value = aws_db_instance.primary.identifier
}

output "arn" {
  description = "Cross-region replicas name their source by ARN."
  value       = aws_db_instance.primary.arn
}

output "address" {
  value = aws_db_instance.primary.address
}

output "port" {
  value = aws_db_instance.primary.port
}

output "database_name" {
  value = aws_db_instance.primary.db_name
}

output "master_username" {
  value = aws_db_instance.primary.username
}

output "master_user_secret_arn" {
  description = "The RDS-managed secret (JSON: username, password) in the primary region."
  value       = aws_db_instance.primary.master_user_secret[0].secret_arn
}

output "parameter_group_family" {
  value = aws_db_parameter_group.this.family
}
