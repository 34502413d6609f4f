# labmcp on ECS Fargate: the same image, command, ports, probes, user and limits as the Kubernetes
# Deployment (k8s/base/deployment.yaml); tests/k8s/test_terraform.py compares the two.

locals {
  cluster_arn  = var.existing_cluster_arn != null ? var.existing_cluster_arn : aws_ecs_cluster.this[0].arn
  cluster_name = element(split("/", local.cluster_arn), 1)

  # The ConfigMap of k8s/base plus what the overlays set; credentials never appear here.
  environment = {
    LABARCHIVES_REGION           = var.labarchives_region
    LABARCHIVES_REQUEST_INTERVAL = tostring(var.request_interval)
    LABARCHIVES_LOG_LEVEL        = var.log_level
    LABARCHIVES_LOG_JSON         = tostring(var.log_json)
    LABMCP_SHUTDOWN_GRACE        = tostring(var.shutdown_grace)
    MCP_SERVER_NAME              = var.server_name
    # The DNS-rebinding check: clients reach the server through the ALB under this name.
    LABMCP_ALLOWED_HOSTS = var.domain_name
  }
  # Set only when given (an empty value would be a setting of its own).
  optional_environment = {
    LABMCP_DEMO               = var.demo ? "true" : ""
    LABARCHIVES_NOTEBOOK_NAME = var.notebook_name
    LABARCHIVES_FOLDER_PATH   = var.folder_path
  }

  # The container definition, literal where the Deployment is literal. Ports, command, probes, user
  # and read-only root are pinned against k8s/ by tests/k8s/test_terraform.py.
  container = {
    name       = "labmcp"
    image      = var.image
    essential  = true
    entryPoint = ["python", "/app/labmcp.pyz"]
    command    = ["--transport", "http", "--host", "0.0.0.0", "--port", "8080", "--health-host", "0.0.0.0", "--health-port", "8000"]
    portMappings = [
      { name = "mcp", containerPort = 8080, protocol = "tcp" },
      { name = "health", containerPort = 8000, protocol = "tcp" },
    ]
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    privileged             = false
    linuxParameters = {
      capabilities       = { add = [], drop = ["ALL"] }
      initProcessEnabled = false
    }
    # Requests 250m/64Mi and limits 500m/128Mi in Kubernetes: cpu units reserved, memory reserved
    # and hard (the task is the 0.5 vCPU size, see the task definition).
    cpu               = 256
    memoryReservation = 64
    memory            = 128
    # terminationGracePeriodSeconds: longer than LABMCP_SHUTDOWN_GRACE so in-flight calls finish.
    stopTimeout = 30
    environment = [
      for key, value in merge(local.environment, local.optional_environment, var.extra_environment) :
      { name = key, value = value } if value != ""
    ]
    secrets = [
      for key in var.credential_keys : { name = key, valueFrom = "${var.credentials_secret_arn}:${key}::" }
    ]
    # Liveness (the Deployment's livenessProbe and the image's HEALTHCHECK, same command): a failing
    # check replaces the task. Readiness is the target group's health check on /health/ready.
    healthCheck = {
      command     = ["CMD", "python", "-c", "import os, sys, urllib.request; port = os.environ.get('LABMCP_HEALTH_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4).status == 200 else 1)"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    # HOME=/tmp in the image; the Deployment mounts an emptyDir there.
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "labmcp"
        mode                  = "non-blocking"
        max-buffer-size       = "4m"
      }
    }
  }
}

data "aws_region" "current" {}

resource "aws_ecs_cluster" "this" {
  count = var.existing_cluster_arn == null ? 1 : 0
  name  = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  # The smallest Fargate size with 0.5 vCPU (the Deployment's CPU limit); Fargate pairs 512 CPU
  # units with at least 1 GiB. The container's own memory limit stays 128 MiB.
  cpu                = "512"
  memory             = "1024"
  execution_role_arn = aws_iam_role.execution.arn
  task_role_arn      = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([local.container])
  tags                  = var.tags
}

resource "aws_ecs_service" "this" {
  name             = var.name
  cluster          = local.cluster_arn
  task_definition  = aws_ecs_task_definition.this.arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  # maxUnavailable 0, maxSurge 1 in Kubernetes: never below the desired count during a rollout.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  # The Deployment's startup probe allows 60 s before liveness counts.
  health_check_grace_period_seconds = 60
  enable_execute_command            = false
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.mcp.arn
    container_name   = "labmcp"
    container_port   = 8080
  }

  lifecycle {
    # Autoscaling owns the count after creation.
    ignore_changes = [desired_count]
    precondition {
      condition     = var.request_interval >= var.max_count
      error_message = "request_interval must be >= max_count: every task paces itself against one LabArchives account."
    }
    precondition {
      condition     = var.min_count <= var.desired_count && var.desired_count <= var.max_count
      error_message = "desired_count must lie between min_count and max_count."
    }
  }
  depends_on = [aws_lb_listener_rule.mcp]
  tags       = var.tags
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${local.cluster_name}/${aws_ecs_service.this.name}"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

# The HPA's two metrics; its 300 s scale-down stabilisation is the scale-in cooldown.
resource "aws_appautoscaling_policy" "this" {
  for_each = {
    cpu    = { metric = "ECSServiceAverageCPUUtilization", target = var.cpu_target }
    memory = { metric = "ECSServiceAverageMemoryUtilization", target = var.memory_target }
  }
  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id
  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
    target_value       = each.value.target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
  }
}
