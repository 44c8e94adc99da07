# The edge connects to https://<origin_hostname>: a certificate for that name on the ALB,
# validated through records in the Cloudflare zone, and the name pointing at the ALB.
resource "aws_acm_certificate" "origin" {
  domain_name       = var.origin_hostname
  validation_method = "DNS"
  lifecycle {
    create_before_destroy = true
  }
}

resource "cloudflare_dns_record" "validation" {
  for_each = {
    for option in aws_acm_certificate.origin.domain_validation_options : option.domain_name => {
      name    = trimsuffix(option.resource_record_name, ".")
      type    = option.resource_record_type
      content = trimsuffix(option.resource_record_value, ".")
    }
  }
  zone_id = var.cloudflare_zone_id
  name    = each.value.name
  type    = each.value.type
  content = each.value.content
  ttl     = 60
  proxied = false
}

resource "aws_acm_certificate_validation" "origin" {
  certificate_arn = aws_acm_certificate.origin.arn
  depends_on      = [cloudflare_dns_record.validation]
}

# DNS only (not proxied): the Worker is the only proxy in front of the origins.
resource "cloudflare_dns_record" "origin" {
  zone_id = var.cloudflare_zone_id
  name    = var.origin_hostname
  type    = "CNAME"
  content = aws_lb.regional.dns_name
  ttl     = 60
  proxied = false
  comment = "breakwater ${var.environment} regional origin (${var.region_name})"
}
