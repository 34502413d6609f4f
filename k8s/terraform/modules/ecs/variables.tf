# Inputs of the ECS module. The defaults are the Kubernetes base (k8s/base): one replica, at most two,
# 64Mi reserved and 128Mi hard memory, a 2 s LabArchives request interval.

variable "name" {
  description = "Name of the service, its task family, ALB, target group, log group and roles (e.g. labmcp-prod)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,26}[a-z0-9]$", var.name))
    error_message = "name must be 3-28 lowercase letters, digits or hyphens (the target group name adds 4 characters)."
  }
}

variable "image" {
  description = "Container image, pinned by digest for prod: REGISTRY/labmcp@sha256:<digest> (or REGISTRY/labmcp:TAG)."
  type        = string
  validation {
    condition     = can(regex("(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image))
    error_message = "image needs a tag or a sha256 digest."
  }
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must carry the slim pyz for this platform."
  type        = string
  default     = "X86_64"
  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture is X86_64 or ARM64."
  }
}

variable "existing_cluster_arn" {
  description = "Run in this ECS cluster; null creates a cluster named after the service."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the service and its load balancer."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks (no public IP); they reach LabArchives, ECR and Secrets Manager over HTTPS through a NAT or VPC endpoints."
  type        = list(string)
}

variable "alb_subnet_ids" {
  description = "Subnets of the load balancer: public ones for an internet-facing ALB, private ones with internal_alb."
  type        = list(string)
}

variable "internal_alb" {
  description = "Make the ALB internal (reachable only inside the VPC and connected networks)."
  type        = bool
  default     = false
}

variable "allowed_cidrs" {
  description = "Client networks allowed to reach the ALB on 443 (IPv4 CIDRs)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener (covers domain_name)."
  type        = string
}

variable "domain_name" {
  description = "Host name clients use (the DNS name pointing at the ALB); the server answers only to it (LABMCP_ALLOWED_HOSTS)."
  type        = string
}

variable "credentials_secret_arn" {
  description = "Secrets Manager secret whose JSON keys are the credentials (credential_keys); injected as container secrets."
  type        = string
}

variable "credential_keys" {
  description = "JSON keys of credentials_secret_arn passed to the container, each as the environment variable of the same name."
  type        = list(string)
  default     = ["LABARCHIVES_AKID", "LABARCHIVES_SECRET", "LABARCHIVES_UID", "LABMCP_HTTP_TOKEN"]
  validation {
    condition = alltrue([
      for key in var.credential_keys : contains(
        ["LABARCHIVES_AKID", "LABARCHIVES_SECRET", "LABARCHIVES_UID", "LABARCHIVES_USER", "LABARCHIVES_TOKEN", "LABMCP_HTTP_TOKEN"],
        key
      )
    ])
    error_message = "credential_keys may name only LABARCHIVES_AKID, _SECRET, _UID, _USER, _TOKEN and LABMCP_HTTP_TOKEN."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log group and the credentials secret; null uses AWS managed keys."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "CloudWatch retention of the container log (audit lines included)."
  type        = number
  default     = 365
}

variable "desired_count" {
  description = "Tasks at creation (autoscaling moves it between min_count and max_count afterwards)."
  type        = number
  default     = 1
}

variable "min_count" {
  description = "Autoscaling minimum (HPA minReplicas)."
  type        = number
  default     = 1
}

variable "max_count" {
  description = "Autoscaling maximum (HPA maxReplicas); at most request_interval, see that variable."
  type        = number
  default     = 2
}

variable "cpu_target" {
  description = "Average CPU utilisation (percent) autoscaling keeps (HPA: 70)."
  type        = number
  default     = 70
}

variable "memory_target" {
  description = "Average memory utilisation (percent) autoscaling keeps (HPA: 80)."
  type        = number
  default     = 80
}

variable "labarchives_region" {
  description = "LABARCHIVES_REGION: us, ca, au, uk, eu or gov."
  type        = string
  default     = "us"
}

variable "request_interval" {
  description = "LABARCHIVES_REQUEST_INTERVAL in seconds; each task paces itself, so keep it >= max_count (<= 1 call/s per account)."
  type        = number
  default     = 2
}

variable "log_level" {
  description = "LABARCHIVES_LOG_LEVEL."
  type        = string
  default     = "INFO"
}

variable "log_json" {
  description = "LABARCHIVES_LOG_JSON: JSON log lines (what the CloudWatch queries and log pipelines parse)."
  type        = bool
  default     = true
}

variable "shutdown_grace" {
  description = "LABMCP_SHUTDOWN_GRACE in seconds; below the container stop timeout (30 s)."
  type        = number
  default     = 10
}

variable "server_name" {
  description = "MCP_SERVER_NAME."
  type        = string
  default     = "labmcp"
}

variable "demo" {
  description = "LABMCP_DEMO: serve the built-in demo notebooks instead of LabArchives (dev only)."
  type        = bool
  default     = false
}

variable "notebook_name" {
  description = "LABARCHIVES_NOTEBOOK_NAME: restrict the server to one notebook (empty: every notebook of the account)."
  type        = string
  default     = ""
}

variable "folder_path" {
  description = "LABARCHIVES_FOLDER_PATH: restrict to a folder of that notebook, a/b/c (empty: the whole notebook)."
  type        = string
  default     = ""
}

variable "extra_environment" {
  description = "Further labmcp settings as environment variables (never credentials: those go in credential_keys)."
  type        = map(string)
  default     = {}
  validation {
    condition = length(setintersection(keys(var.extra_environment), [
      "LABARCHIVES_AKID", "LABARCHIVES_SECRET", "LABARCHIVES_UID", "LABARCHIVES_USER", "LABARCHIVES_TOKEN",
      "LABMCP_HTTP_TOKEN",
    ])) == 0
    error_message = "Credentials are container secrets (credential_keys), never plain environment."
  }
}

variable "deletion_protection" {
  description = "Protect the ALB from deletion."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for ALB access logs; null turns them off."
  type        = string
  default     = null
}

variable "waf_acl_arn" {
  description = "WAFv2 web ACL to attach to the ALB; null attaches none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
