"""log_sink (Pub/Sub push on `selection-logs` and `feedback`): one BigQuery row each.

The CloudEvent source names the topic, which picks the table.
Logic: shared/log_sink.py; rows BigQuery rejects are dead-lettered.
"""

import functions_framework

from shared.messaging import push
from shared.app import build_log_sink, lazy

_handle = lazy(build_log_sink)


@functions_framework.cloud_event
@push.delivery
def log_sink(cloud_event):
    _handle()(cloud_event.data, cloud_event["source"])


# A failure of the body above: 500 (retried). A body functions-framework cannot
# read: dead-lettered and acknowledged, or 400 if it holds no message.
functions_framework.errorhandler(Exception)(push.answer_failure(_handle))
