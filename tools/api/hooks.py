"""schemathesis hooks for the Jiuzhu API (.ci/api.sh loads them through SCHEMATHESIS_HOOKS).

The API takes a few bodies in media types schemathesis has no serializer for: they are sent as
they are, like any file.
"""

import schemathesis

# Raw bytes: a resumable upload's chunk and an XLSForm workbook.
schemathesis.serializer.alias(
    [
        "application/offset+octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
    "application/octet-stream",
)
# Text: the CSV imports.
schemathesis.serializer.alias("text/csv", "text/plain")
