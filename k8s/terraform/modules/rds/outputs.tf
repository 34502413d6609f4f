output "endpoint" {
  description = "host:port of the database (null when disabled)."
  value       = var.enabled ? aws_db_instance.this[0].endpoint : null
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS keeps the administrator password in (null when disabled)."
  value       = var.enabled ? aws_db_instance.this[0].master_user_secret[0].secret_arn : null
}

output "security_group_id" {
  description = "Security group of the database (null when disabled)."
  value       = var.enabled ? aws_security_group.this[0].id : null
}
