output "topic_arn" {
  description = "Every alarm of the region notifies this topic; subscribe a pager to it."
  value       = aws_sns_topic.alarms.arn
}
