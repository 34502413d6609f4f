# Only 443 crosses the edge: clients reach the ALB on 443, tasks reach LabArchives (and ECR, Secrets
# Manager, CloudWatch Logs) on 443. Between the two, the ALB may reach the tasks' MCP and health
# ports, named by security group, not by address. DNS goes to the VPC resolver, which security
# groups do not filter.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "labmcp ALB: HTTPS from clients, MCP and health to the tasks"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  for_each                     = { mcp = 8080, health = 8000 }
  security_group_id            = aws_security_group.alb.id
  description                  = "${each.key} port of the labmcp tasks"
  referenced_security_group_id = aws_security_group.task.id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

resource "aws_security_group" "task" {
  name        = "${var.name}-task"
  description = "labmcp tasks: MCP and health from the ALB, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  for_each                     = { mcp = 8080, health = 8000 }
  security_group_id            = aws_security_group.task.id
  description                  = "${each.key} port from the ALB"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

resource "aws_vpc_security_group_egress_rule" "task_https" {
  security_group_id = aws_security_group.task.id
  description       = "HTTPS to LabArchives, ECR, Secrets Manager and CloudWatch Logs"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}
