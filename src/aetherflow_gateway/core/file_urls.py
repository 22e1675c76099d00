"""`file://` URLs, as the embedded object store and local queues are configured."""

from pathlib import Path
from urllib.parse import unquote, urlsplit


def path_from_file_url(url: str) -> Path:
    """The absolute path a `file://` URL names; relative ones start at the cwd.

    `file://./var/objects` splits into host "." and path "/var/objects", so host and
    path are joined back before the path is read.
    """
    parts = urlsplit(url)
    if parts.scheme != "file":
        raise ValueError("expected a file:// URL")

    host = "" if parts.netloc == "localhost" else parts.netloc
    path = unquote(host + parts.path)
    if not path:
        raise ValueError("the file:// URL names no path")
    return Path(path).absolute()
