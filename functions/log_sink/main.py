"""log_sink (Pub/Sub push on `selection-logs` and `feedback`): one BigQuery row each.

The CloudEvent source names the topic, which picks the table.
Logic: shared/log_sink.py; rows BigQuery rejects are dead-lettered.
"""

import functions_framework

from shared.push import answer_failure
from shared.app import build_log_sink, lazy

_handle = lazy(build_log_sink)


@functions_framework.cloud_event
def log_sink(cloud_event):
    _handle()(cloud_event.data, cloud_event["source"])


# A body functions-framework cannot parse answers 400 (never retried); our failures 500.
functions_framework.errorhandler(Exception)(answer_failure)
