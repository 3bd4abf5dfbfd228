"""Pushes three log records to Fenrir with python-logging-loki, as applications do.

usage: python python_logging_loki_push.py <base-url> <0|1> <run-id>

version "0" (the library's default) posts the legacy JSON format to /api/prom/push;
version "1" posts the v1 JSON format to /loki/api/v1/push. Exits non-zero when a push
failed (the library itself only prints errors through logging's handleError).
"""

import logging
import sys
import warnings

import logging_loki


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[2] not in ("0", "1"):
        print(__doc__, file=sys.stderr)
        return 64
    url, version, run = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    path = "/api/prom/push" if version == "0" else "/loki/api/v1/push"
    warnings.simplefilter("ignore")  # version "0" is deprecated: that is the point
    handler = logging_loki.LokiHandler(
        url=url + path,
        tags={"app": "pyclient", "run": run},
        version=version,
    )
    errors = []

    def record_error(record):
        errors.append("%s: %r" % (record.getMessage(), sys.exc_info()[1]))

    handler.handleError = record_error
    logger = logging.getLogger("fenrir-test")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    logger.info("hello from python v%s", version)
    logger.warning('second line with "quotes" and unicode \u2713')
    logger.error("third line", extra={"tags": {"extra_tag": "x"}})
    if errors:
        print("push failed: " + "; ".join(errors), file=sys.stderr)
        return 1
    print("sent 3 records to " + url + path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
