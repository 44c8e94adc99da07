output "identifier" {
  value = aws_db_instance.replica.identifier
}

output "address" {
  value = aws_db_instance.replica.address
}

output "port" {
  value = aws_db_instance.replica.port
}
