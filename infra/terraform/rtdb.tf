# Realtime Database: the other reply store (REPLY_STORE=rtdb), with the rules
# file the code's tests check (infra/database.rules.json).

locals {
  # Instances outside us-central1 live under firebasedatabase.app.
  rtdb_url = "https://${var.project}-default-rtdb.${var.rtdb_region}.firebasedatabase.app"
}

resource "google_firebase_project" "this" {
  provider   = google-beta
  project    = var.project
  depends_on = [google_project_service.api]
}

resource "google_firebase_database_instance" "replies" {
  provider    = google-beta
  project     = var.project
  region      = var.rtdb_region
  instance_id = "${var.project}-default-rtdb"
  type        = "DEFAULT_DATABASE"
  depends_on  = [google_firebase_project.this]
}

# The providers have no resource for Realtime Database rules: they are PUT to
# the instance's REST endpoint whenever the rules file changes.
resource "terraform_data" "rtdb_rules" {
  triggers_replace = [
    filesha256("${path.module}/../database.rules.json"),
    google_firebase_database_instance.replies.database_url,
  ]
  provisioner "local-exec" {
    command = "curl -sSf -X PUT -H \"Authorization: Bearer $(gcloud auth print-access-token)\" --data-binary @${path.module}/../database.rules.json '${google_firebase_database_instance.replies.database_url}/.settings/rules.json'"
  }
}
