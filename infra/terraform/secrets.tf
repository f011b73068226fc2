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
