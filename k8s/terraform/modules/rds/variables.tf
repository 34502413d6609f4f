# Inputs of the RDS module: a PostgreSQL instance for a future labmcp feature that needs state
# (labmcp itself keeps no database today). Off unless enabled.

variable "enabled" {
  description = "Create the database (false creates nothing)."
  type        = bool
  default     = false
}

variable "name" {
  description = "Identifier of the instance, its subnet group, parameter group and security group."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two or more availability zones) for the DB subnet group."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the labmcp tasks)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major version; minor upgrades are applied in the maintenance window."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "allocated_storage" {
  description = "Storage in GiB at creation."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "database_name" {
  description = "Database created in the instance."
  type        = string
  default     = "labmcp"
}

variable "master_username" {
  description = "Administrator login; its password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "labmcp_admin"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for storage, Performance Insights and the master secret; null uses the AWS managed keys."
  type        = string
  default     = null
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 7
}

variable "backup_window" {
  description = "Daily backup window, UTC (hh24:mi-hh24:mi, at least 30 minutes, not overlapping the maintenance window)."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window, UTC (ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:04:30-sun:05:30"
}

variable "multi_az" {
  description = "Standby in a second availability zone."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
