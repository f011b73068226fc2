# The selection log and the feedback. Each schema is the file the code uses
# (shared/schemas/<table>.json); partitioning and clustering match
# infra/local/topology.py's BIGQUERY_TABLES; the de-duplicating views are the
# code's SQL (shared/sql/<view>.sql, {dataset} filled in as the code does).

resource "google_bigquery_dataset" "zatsudan" {
  dataset_id  = var.bigquery_dataset
  location    = var.bigquery_location
  description = "zatsudan: one row per reply, for comparing ranking algorithms."
  # Tables go with the dataset on destroy only once protect_data is false.
  delete_contents_on_destroy = !var.protect_data
  depends_on                 = [google_project_service.api]
}

resource "google_bigquery_table" "selections" {
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = "selections"
  schema              = file("${path.module}/../../shared/schemas/selections.json")
  clustering          = ["algorithm"]
  deletion_protection = var.protect_data

  time_partitioning {
    type  = "DAY"
    field = "received_at"
  }
}

resource "google_bigquery_table" "feedback" {
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = "feedback"
  schema              = file("${path.module}/../../shared/schemas/feedback.json")
  clustering          = ["message_id"]
  deletion_protection = var.protect_data

  time_partitioning {
    type  = "DAY"
    field = "given_at"
  }
}

# The raw corpus (jobs/corpus loads it; its filter query writes clean_posts).
resource "google_bigquery_table" "posts" {
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = "posts"
  schema              = file("${path.module}/../../shared/schemas/posts.json")
  clustering          = ["keyword", "lang"]
  deletion_protection = var.protect_data

  time_partitioning {
    type  = "DAY"
    field = "created_at"
  }
}

locals {
  qualified_dataset = "${var.project}.${google_bigquery_dataset.zatsudan.dataset_id}"
}

resource "google_bigquery_table" "selections_dedup" {
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = "selections_dedup"
  deletion_protection = false
  view {
    query          = replace(file("${path.module}/../../shared/sql/selections_dedup.sql"), "{dataset}", local.qualified_dataset)
    use_legacy_sql = false
  }
  depends_on = [google_bigquery_table.selections]
}

resource "google_bigquery_table" "feedback_dedup" {
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = "feedback_dedup"
  deletion_protection = false
  view {
    query          = replace(file("${path.module}/../../shared/sql/feedback_dedup.sql"), "{dataset}", local.qualified_dataset)
    use_legacy_sql = false
  }
  depends_on = [google_bigquery_table.feedback]
}
