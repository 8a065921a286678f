"""Rules for the answers that become names: of the project, the package, Polars Cloud
objects and the Airflow connection.

Length limits (each name is ASCII, so characters are bytes):

- ``project_slug``, at most 100 characters: it names the repository (GitHub refuses longer
  repository names) and the distribution, whose longest file names in an install are the
  wheel ``<slug>-<version>-py3-none-any.whl`` and ``<slug>-<version>.dist-info``; at 100
  characters they stay far below the 255-byte limit for one file name that ext4, XFS, APFS
  and NTFS share, whatever the version grows to.
- ``package_name``, at most 100 characters: it defaults to the slug; the longest path
  component made from it is the local results folder ``<package>-intermediate``, and the
  longest environment variable names are ``<PACKAGE>_STORAGE_OPTIONS`` and the like.
- Polars Cloud workspace and manifest names: 1-63 characters (DNS-label-like).
- the connection id: at most 250 characters, Airflow's limit for ids (``ID_LEN``).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping

from .reserved import describe

MAX_NAME_LENGTH = 100

_SLUG = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
_DUNDER = re.compile(r"__.*__")
# Workspace and manifest names: letters, digits, "-" and "_", starting and ending with a
# letter or digit, at most 63 characters (the conservative, DNS-label-like subset that
# Polars Cloud accepts and that is safe in URLs, logs and file names).
_CLOUD_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
# A connection id must also work as AIRFLOW_CONN_<ID> in a shell.
_CONN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,249}")


def _too_long(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (it names files and folders)"
    return None


def project_slug(value: str) -> str | None:
    if not _SLUG.fullmatch(value):
        return (
            "use lowercase letters, digits and single '-' or '_' between them, "
            "starting with a letter"
        )
    return _too_long(value)


def package_name(reserved: Mapping[str, str]) -> Callable[[str], str | None]:
    """The package rule, refusing the names in ``reserved`` (``{module: origin}``)."""

    def rule(value: str) -> str | None:
        if not _PACKAGE.fullmatch(value) or keyword.iskeyword(value):
            return "must be a lowercase Python identifier (letters, digits, '_'; not a keyword)"
        if _DUNDER.fullmatch(value):
            return "must not start and end with '__' (such names belong to Python)"
        if problem := _too_long(value):
            return problem
        if value in reserved:
            return (
                f"would shadow the module {value!r} {describe(reserved[value])} "
                "(dags/ is on sys.path in every Airflow process): choose another name"
            )
        return None

    return rule


def cloud_name(value: str) -> str | None:
    if not _CLOUD_NAME.fullmatch(value):
        return (
            "must be 1-63 characters of letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return None


def conn_id(value: str) -> str | None:
    if not _CONN_ID.fullmatch(value):
        return (
            "must be letters, digits and '_' (not starting with a digit), "
            "so that AIRFLOW_CONN_<ID> is a valid environment variable name"
        )
    return None
