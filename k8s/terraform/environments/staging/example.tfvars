# staging: copy to terraform.tfvars (git-ignored) and replace every value with your site's.
aws_region       = "us-east-1"
image            = "123456789012.dkr.ecr.us-east-1.amazonaws.com/labmcp@sha256:0000000000000000000000000000000000000000000000000000000000000000"
cpu_architecture = "X86_64"

vpc_id             = "vpc-0123456789abcdef0"
private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
alb_subnet_ids     = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
allowed_cidrs      = ["0.0.0.0/0"]

domain_name     = "labmcp.staging.example.com"
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

# One secret, its keys named like the variables (aws secretsmanager create-secret --secret-string
# file://creds.json with {"LABMCP_HTTP_TOKEN": "...", ...}); never put the values in this file.
credentials_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:labmcp-staging-credentials-AbCdEf"
credential_keys        = ["LABARCHIVES_AKID", "LABARCHIVES_SECRET", "LABARCHIVES_UID", "LABMCP_HTTP_TOKEN"]

labarchives_region = "us"
rds_enabled        = false

tags = {
  Owner = "research-computing"
}
