# prod, as k8s/overlays/prod: two to four tasks, 4 s between LabArchives calls per task so four
# tasks together stay at <= 1 call per second, INFO logs as JSON.
#   cp terraform.tfvars.example terraform.tfvars   # then fill in your site's values
#   terraform init && terraform plan
# Add your state backend (e.g. an S3 backend with locking) in a backend.tf beside this file.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

locals {
  environment = "prod"
  name        = "labmcp-${local.environment}"
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = merge(var.tags, { Project = "labmcp", Environment = local.environment })
  }
}

module "ecs" {
  source = "../../modules/ecs"

  name                   = local.name
  image                  = var.image
  cpu_architecture       = var.cpu_architecture
  existing_cluster_arn   = var.existing_cluster_arn
  vpc_id                 = var.vpc_id
  private_subnet_ids     = var.private_subnet_ids
  alb_subnet_ids         = var.alb_subnet_ids
  internal_alb           = var.internal_alb
  allowed_cidrs          = var.allowed_cidrs
  certificate_arn        = var.certificate_arn
  domain_name            = var.domain_name
  credentials_secret_arn = var.credentials_secret_arn
  credential_keys        = var.credential_keys
  kms_key_arn            = var.kms_key_arn
  log_retention_days     = var.log_retention_days
  access_logs_bucket     = var.access_logs_bucket
  waf_acl_arn            = var.waf_acl_arn
  labarchives_region     = var.labarchives_region

  desired_count    = 2
  min_count        = 2
  max_count        = 4
  request_interval = 4
  log_level        = "INFO"
  log_json         = true
}

module "rds" {
  source = "../../modules/rds"

  enabled                   = var.rds_enabled
  name                      = local.name
  vpc_id                    = var.vpc_id
  private_subnet_ids        = var.private_subnet_ids
  client_security_group_ids = [module.ecs.task_security_group_id]
  kms_key_arn               = var.kms_key_arn
  backup_retention_days     = 30
  multi_az                  = true
}

output "mcp_url" {
  description = "The MCP endpoint clients use (with Authorization: Bearer LABMCP_HTTP_TOKEN)."
  value       = "https://${var.domain_name}/mcp"
}

output "alb_dns_name" {
  description = "Point domain_name here."
  value       = module.ecs.alb_dns_name
}

output "log_group_name" {
  description = "CloudWatch log group of the tasks."
  value       = module.ecs.log_group_name
}

output "database_endpoint" {
  description = "PostgreSQL endpoint when rds_enabled."
  value       = module.rds.endpoint
}
