"""Training the dual-encoder ranker: data, model, trials on a queue, publishing.

    make train TRIALS=4 WORKERS=2     # tune in parallel, publish the best
    make eval                         # the published model against the baselines

Modules: ``data`` (pairs and the held-out split), ``model`` (Keras, TensorFlow
imported here only); the model store (a folder or ``gs://``) is
``shared.model_store``, which the scorer reads too;
``trials`` (hyperparameter sets and their records), ``worker`` (leases trials
from Pub/Sub, checkpoints every epoch), ``run`` (queues trials, runs the
workers, picks the best), ``publish`` (export, candidate embeddings,
``models/current``), ``evaluate`` (recall@k against TF-IDF, BM25, random).
"""
