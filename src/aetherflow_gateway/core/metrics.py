"""Prometheus metrics, served at `/metrics` by each process for its own counts."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "aetherflow_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "path", "status"],
)
REQUEST_SECONDS = Histogram(
    "aetherflow_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "path"],
)
UPLOADS = Counter("aetherflow_uploads_total", "Uploads by outcome.", ["outcome"])
UPLOAD_BYTES = Counter("aetherflow_upload_bytes_total", "Bytes of accepted uploads.")
OUTBOX_PUBLISHED = Counter(
    "aetherflow_outbox_published_total", "Queue messages published from the outbox."
)
OUTBOX_FAILURES = Counter(
    "aetherflow_outbox_publish_failures_total", "Failed attempts to publish a message."
)
OUTBOX_PENDING = Gauge(
    "aetherflow_outbox_pending_messages",
    "Messages not yet published, at the last relay cycle.",
)
OUTBOX_STUCK = Gauge(
    "aetherflow_outbox_stuck_messages",
    "Unpublished messages that failed at least `outbox_stuck_attempts` times.",
)
SWEPT = Counter(
    "aetherflow_sweep_removed_total",
    "Leftovers removed by the sweep, by kind.",
    ["kind"],
)
