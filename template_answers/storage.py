"""The rule for data_bucket: ``s3://bucket`` or ``s3://bucket/prefix``, the data root.

The bucket must be a name S3 accepts for a general purpose bucket (Amazon S3 User Guide,
"General purpose bucket naming rules"): 3-63 characters of lowercase letters, digits, '.'
and '-'; starting and ending with a letter or digit; no two adjacent periods; not an IP
address; none of the reserved prefixes and suffixes below. Each dot-separated part must also
start and end with a letter or digit (``my.-bucket`` is refused, as by S3's DNS-style naming).

The prefix is made of S3's "safe" key characters (letters, digits, ``!-_.'()``) and ``=``
(hive partitions), in segments separated by single '/'. Refused on purpose: glob characters,
which Polars expands when the project scans ``<root>/raw/<dataset>/*.parquet`` (a root
of ``a*b`` also read a sibling folder's data), and '.' or '..' segments, which object stores do not
resolve. The prefix is at most 512 characters: an S3 key is at most 1,024 bytes and the
project appends dataset, partition and file names below it.
"""

from __future__ import annotations

import re

MAX_PREFIX_LENGTH = 512
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
GLOB_CHARACTERS = "*?[]{}"

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9!_.'()=-]+")

_FORM = "must look like s3://bucket or s3://bucket/prefix"


def _bucket_ok(bucket: str) -> bool:
    return (
        3 <= len(bucket) <= 63
        and all(_LABEL.fullmatch(label) for label in bucket.split("."))
        and not _IPV4.fullmatch(bucket)
        and not bucket.startswith(RESERVED_PREFIXES)
        and not bucket.endswith(RESERVED_SUFFIXES)
    )


def _prefix_problem(prefix: str) -> str | None:
    if any(char in GLOB_CHARACTERS for char in prefix):
        return (
            f"the prefix must not contain glob characters ({GLOB_CHARACTERS}): "
            "Polars would read them as a pattern"
        )
    segments = prefix.removesuffix("/").split("/") if prefix.removesuffix("/") else []
    if any(segment in {".", ".."} for segment in segments):
        return "the prefix must not contain '.' or '..' segments"
    if not all(_PREFIX_SEGMENT.fullmatch(segment) for segment in segments):
        return "the prefix allows letters, digits and !_.'()=- between single '/'"
    if len(prefix) > MAX_PREFIX_LENGTH:
        return (
            f"the prefix must be at most {MAX_PREFIX_LENGTH} characters "
            "(S3 keys are at most 1,024 bytes)"
        )
    return None


def data_bucket(value: str) -> str | None:
    if not value.startswith("s3://"):
        return _FORM
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    if not _bucket_ok(bucket):
        return (
            f"{_FORM}, with a valid S3 bucket name (3-63 lowercase letters, digits, '.' or "
            "'-'; each dot-separated part starting and ending with a letter or digit; not an "
            f"IP address; not starting with {', '.join(RESERVED_PREFIXES)}; not ending with "
            f"{', '.join(RESERVED_SUFFIXES)})"
        )
    if problem := _prefix_problem(prefix):
        return f"{_FORM}; {problem}"
    return None
