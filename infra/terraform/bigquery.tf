# The selection log. The schema is the file the code uses
# (shared/schemas/<table>.json); partitioning and clustering match
# infra/local/topology.py's BIGQUERY_TABLES.

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
