# Global variables: what every environment (environments/{dev,staging,prod}) needs from its site.
# Each environment links this file as its own variables.tf and sets its values in terraform.tfvars
# (copy terraform.tfvars.example). What differs by environment by design (replicas, request
# interval, log level, demo data) is written in the environment's main.tf, like the k8s overlays.

variable "aws_region" {
  description = "AWS region of the deployment."
  type        = string
}

variable "image" {
  description = "labmcp image built by k8s/scripts/build.sh and pushed to ECR, pinned by digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/labmcp@sha256:<digest>."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the platform the image was built for (it carries that platform's slim pyz)."
  type        = string
  default     = "X86_64"
}

variable "existing_cluster_arn" {
  description = "Run in this ECS cluster instead of creating one per environment."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the environment."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks (and the database), with HTTPS egress through a NAT gateway or VPC endpoints."
  type        = list(string)
}

variable "alb_subnet_ids" {
  description = "Subnets of the load balancer (public for an internet-facing ALB)."
  type        = list(string)
}

variable "internal_alb" {
  description = "Make the ALB internal."
  type        = bool
  default     = false
}

variable "allowed_cidrs" {
  description = "Client networks allowed to reach the ALB on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name."
  type        = string
}

variable "domain_name" {
  description = "Host name of the MCP endpoint (https://DOMAIN/mcp), pointed at the ALB."
  type        = string
}

variable "credentials_secret_arn" {
  description = "Secrets Manager secret with the JSON keys of credential_keys (see k8s/base/secret.template.yaml for their meaning)."
  type        = string
}

variable "credential_keys" {
  description = "Keys of the credentials secret injected as container secrets."
  type        = list(string)
  default     = ["LABARCHIVES_AKID", "LABARCHIVES_SECRET", "LABARCHIVES_UID", "LABMCP_HTTP_TOKEN"]
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for logs, the credentials secret and the database; null uses AWS managed keys."
  type        = string
  default     = null
}

variable "labarchives_region" {
  description = "LABARCHIVES_REGION: us, ca, au, uk, eu or gov."
  type        = string
  default     = "us"
}

variable "log_retention_days" {
  description = "CloudWatch retention of the container log, audit lines included."
  type        = number
  default     = 365
}

variable "access_logs_bucket" {
  description = "S3 bucket for ALB access logs (null: none)."
  type        = string
  default     = null
}

variable "waf_acl_arn" {
  description = "WAFv2 web ACL for the ALB (null: none)."
  type        = string
  default     = null
}

variable "rds_enabled" {
  description = "Create the PostgreSQL instance (modules/rds); labmcp does not use one yet."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource (Project and Environment are always set)."
  type        = map(string)
  default     = {}
}
