"""Upload targets for cameras on AWS: a presigned S3 POST per snapshot.

The camera sends its snapshot straight to the image cache bucket, so the
web function never carries image bytes. The policy S3 enforces admits
one object under the exact name the API chose (the camera's own folder,
the capture time, the digest the camera declared), a JPEG content type,
and a size up to MAX_UPLOAD_BYTES. The crop stage then checks the picture
itself, as it does for every snapshot.
"""

from dataclasses import dataclass
from typing import Any

from occupancy_site import aws
from occupancy_site.aws import SERVER_SIDE_ENCRYPTION

UPLOAD_URL_SECONDS = 300


@dataclass(frozen=True)
class UploadTarget:
    url: str
    fields: dict[str, str]
    expires_in: int


def presigned_upload(bucket: str, name: str, max_bytes: int) -> UploadTarget:
    fixed: dict[str, Any] = {
        "Content-Type": "image/jpeg",
        "x-amz-server-side-encryption": SERVER_SIDE_ENCRYPTION,
    }
    conditions: list[Any] = [
        {"Content-Type": "image/jpeg"},
        {"x-amz-server-side-encryption": SERVER_SIDE_ENCRYPTION},
        ["content-length-range", 1, max_bytes],
    ]
    post = aws.client("s3").generate_presigned_post(
        Bucket=bucket,
        Key=name,
        Fields=fixed,
        Conditions=conditions,
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return UploadTarget(
        url=post["url"], fields=post["fields"], expires_in=UPLOAD_URL_SECONDS
    )
