# The key webhook callers sign with (ingress reads it as WEBHOOK_SECRET; see
# shared/auth.py). Terraform creates the secret, not its
# value (kept out of the state): add one with
#   printf '%s' "$KEY" | gcloud secrets versions add webhook-key --data-file=-

resource "google_secret_manager_secret" "webhook_key" {
  secret_id = var.webhook_key_secret
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}

# Reply delivery's keys, each read by one function: the key callbacks are
# signed with (Standard Webhooks, "whsec_<base64>"; receivers verify with it),
# and the LINE channel's secret (its webhook signature) and access token.
# Values are added the same way, e.g.
#   printf 'whsec_%s' "$(openssl rand -base64 32)" | gcloud secrets versions add callback-signing-key --data-file=-
locals {
  delivery_secrets = {
    callback_signing_key      = var.callback_signing_key_secret
    line_channel_secret       = var.line_channel_secret_secret
    line_channel_access_token = var.line_channel_access_token_secret
  }
  delivery_secret_readers = {
    callback_signing_key      = "delivery"
    line_channel_secret       = "ingress"
    line_channel_access_token = "delivery"
  }
}

resource "google_secret_manager_secret" "delivery" {
  for_each  = local.delivery_secrets
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}
