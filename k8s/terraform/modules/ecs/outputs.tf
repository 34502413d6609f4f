output "alb_dns_name" {
  description = "Point domain_name at this (CNAME or alias record)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the ALB, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "cluster_arn" {
  description = "The cluster the service runs in."
  value       = local.cluster_arn
}

output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.this.name
}

output "task_security_group_id" {
  description = "Security group of the tasks (the RDS module admits it)."
  value       = aws_security_group.task.id
}

output "log_group_name" {
  description = "CloudWatch log group of the container."
  value       = aws_cloudwatch_log_group.this.name
}
