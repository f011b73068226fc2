# Buckets for the corpus pipeline's shards and the trained ranking models.

resource "google_storage_bucket" "corpus" {
  name                        = "${var.project}-zatsudan-corpus"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.protect_data

  # Shards are derived data, rebuilt from the sources: old ones go.
  lifecycle_rule {
    condition {
      age = var.corpus_shard_retention_days
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [google_project_service.api]
}

resource "google_storage_bucket" "models" {
  name                        = "${var.project}-zatsudan-models"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.protect_data

  # Models are versioned: a few previous versions stay for rollback.
  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      num_newer_versions = var.model_versions_kept
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      age        = 30
      with_state = "LIVE"
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }
  depends_on = [google_project_service.api]
}
