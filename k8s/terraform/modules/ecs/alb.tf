# The ALB plays the Ingress: HTTPS on 443 only, /mcp forwarded, everything else 404; health and
# metrics stay inside the VPC.

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_76:The server is Python (no Log4j); a WAF web ACL is the site's own choice (waf_acl_arn) and its rules with it.
  name                       = var.name
  internal                   = var.internal_alb
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.alb_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Streamed MCP responses stay open (the Ingress allows 3600 s reads).
  idle_timeout = 3600
  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }
  tags = var.tags
}

resource "aws_lb_target_group" "mcp" {
  # checkov:skip=CKV_AWS_378:TLS ends at the ALB; the server has no TLS listener, and ALB-to-task traffic stays in the VPC, admitted only from the ALB's security group.
  name        = "${var.name}-mcp"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  # Longer than LABMCP_SHUTDOWN_GRACE: readiness turns 503 on SIGTERM, then in-flight calls finish.
  deregistration_delay = 30
  # The readiness probe of the Deployment, on the health port.
  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "8000"
    path                = "/health/ready"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
  # An MCP session lives in one task's memory (the Service's ClientIP affinity in Kubernetes).
  stickiness {
    type            = "lb_cookie"
    cookie_duration = 86400
    enabled         = true
  }
  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"status\":\"not found\"}"
      status_code  = "404"
    }
  }
  tags = var.tags
}

resource "aws_lb_listener_rule" "mcp" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.mcp.arn
  }
  condition {
    path_pattern {
      values = ["/mcp"]
    }
  }
  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  count        = var.waf_acl_arn == null ? 0 : 1
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_acl_arn
}
