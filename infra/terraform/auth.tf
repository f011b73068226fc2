# Firebase Authentication (Identity Platform): app users sign in and send their
# ID token to ingress (AUTH_MODE=required). The web page signs in anonymously;
# locally the stack's Auth emulator stands in (infra/local/stack.py).
resource "google_identity_platform_config" "auth" {
  provider = google-beta
  project  = var.project
  sign_in {
    anonymous {
      enabled = true
    }
  }
  depends_on = [google_firebase_project.this, google_project_service.api]
}

# The web page's Firebase config: its config.json takes apiKey and authDomain
# from the `web_config` output (docs/calling-ingress.md, "How the web page signs in").
resource "google_firebase_web_app" "chat" {
  provider     = google-beta
  project      = var.project
  display_name = "zatsudan web chat"
  depends_on   = [google_firebase_project.this]
}

data "google_firebase_web_app_config" "chat" {
  provider   = google-beta
  project    = var.project
  web_app_id = google_firebase_web_app.chat.app_id
}
