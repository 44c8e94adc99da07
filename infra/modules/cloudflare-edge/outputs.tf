output "script_name" {
  value = cloudflare_workers_script.edge.script_name
}

output "url" {
  value = "https://${cloudflare_workers_custom_domain.edge.hostname}"
}
