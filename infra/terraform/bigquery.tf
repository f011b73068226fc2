# The selection log and the feedback. Each schema is the file the code uses
# (shared/schemas/<table>.json); partitioning and clustering match
# shared/tables.py's BIGQUERY_TABLES; the de-duplicating views are the
# code's SQL (shared/sql/<view>.sql, {dataset} filled in as the code does).

resource "google_bigquery_dataset" "zatsudan" {
  dataset_id  = var.bigquery_dataset
  location    = var.bigquery_location
  description = "zatsudan: one row per reply, for comparing ranking algorithms."
  # Tables go with the dataset on destroy only once protect_data is false.
  delete_contents_on_destroy = !var.protect_data
  depends_on                 = [google_project_service.api]
}

locals {
  # Table -> partitioning and clustering; its schema is shared/schemas/<table>.json.
  tables = {
    selections = { partition = "received_at", clustering = ["algorithm"] }
    feedback   = { partition = "given_at", clustering = ["message_id"] }
    # The raw corpus (jobs/corpus loads it; its filter query writes clean_posts).
    posts = { partition = "created_at", clustering = ["keyword", "lang"] }
  }
  qualified_dataset = "${var.project}.${google_bigquery_dataset.zatsudan.dataset_id}"
}

resource "google_bigquery_table" "table" {
  for_each            = local.tables
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = each.key
  schema              = file("${path.module}/../../shared/schemas/${each.key}.json")
  clustering          = each.value.clustering
  deletion_protection = var.protect_data

  time_partitioning {
    type  = "DAY"
    field = each.value.partition
  }
}

# The de-duplicating views: shared/sql/<view>.sql.
resource "google_bigquery_table" "view" {
  for_each            = toset(["selections_dedup", "feedback_dedup"])
  dataset_id          = google_bigquery_dataset.zatsudan.dataset_id
  table_id            = each.key
  deletion_protection = false
  view {
    query          = replace(file("${path.module}/../../shared/sql/${each.key}.sql"), "{dataset}", local.qualified_dataset)
    use_legacy_sql = false
  }
  depends_on = [google_bigquery_table.table]
}
