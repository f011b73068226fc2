# Firestore (native mode): the replies, conversations (owner and recent turns
# in one document), candidates and decisions (layout: shared/stores.py).

resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  # ABANDON leaves the data in place when Terraform forgets the database.
  deletion_policy = var.protect_data ? "ABANDON" : "DELETE"
  depends_on      = [google_project_service.api]
}

# Idempotency records carry expire_at; Firestore deletes them after it.
resource "google_firestore_field" "decisions_ttl" {
  database   = google_firestore_database.default.name
  collection = "decisions"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# The push handlers' failed-delivery counts (shared/stores.py DeliveryAttempts).
resource "google_firestore_field" "delivery_attempts_ttl" {
  database   = google_firestore_database.default.name
  collection = "delivery_attempts"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# Ingress: Idempotency-Key records (a day) and used webhook signatures (their window).
resource "google_firestore_field" "idempotency_keys_ttl" {
  database   = google_firestore_database.default.name
  collection = "idempotency_keys"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

resource "google_firestore_field" "webhook_signatures_ttl" {
  database   = google_firestore_database.default.name
  collection = "webhook_signatures"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

resource "google_firestore_field" "delivery_ledger_ttl" {
  database   = google_firestore_database.default.name
  collection = "delivery_ledger"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

resource "google_firestore_field" "line_events_ttl" {
  database   = google_firestore_database.default.name
  collection = "line_events"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# Fields only ever read whole, each one JSON string (shared/stores.py): no
# single-field index, so a write updates no index entries for them.
resource "google_firestore_field" "unindexed_json" {
  for_each = {
    candidates    = "candidates_json"
    conversations = "turns"
    decisions     = "decision"
  }
  database   = google_firestore_database.default.name
  collection = each.key
  field      = each.value
  index_config {}
}

# Client rules: the file the code's tests check (infra/firestore.rules): a
# signed-in user reads only their own conversations' replies; the functions
# use IAM, which rules do not govern.
resource "google_firebaserules_ruleset" "firestore" {
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }
  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  name         = "cloud.firestore"
  ruleset_name = google_firebaserules_ruleset.firestore.name
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}
