"""Register the manifests of manifests.toml: ``python -m polars_cloud_provider.manifests``, run
from the workers' environment (same uv.lock, same Python: see ``versions``)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from polars_cloud_provider import settings
from polars_cloud_provider.manifests import spec, sync, versions

# Exit codes, explained in docs/design-manifests.md.
OK, FAILED, INVALID, NOT_AUTHENTICATED, UNREACHABLE = 0, 1, 2, 3, 4
ENV_CREDENTIALS = ("POLARS_CLOUD_CLIENT_ID", "POLARS_CLOUD_CLIENT_SECRET")
ENV_TOKEN = "POLARS_CLOUD_ACCESS_TOKEN"
_URL = re.compile(r"https?://[^\s\"'()]+")


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(
        prog="python -m polars_cloud_provider.manifests",
        description="Register the compute manifests of manifests.toml in Polars Cloud: the new "
        "and changed ones, and those recorded with other polars/Python versions.",
    )
    add = commands.add_argument
    add("--file", type=Path, default=Path("manifests.toml"), help="default: ./manifests.toml")
    add("--only", action="append", metavar="NAME", help="only this manifest (repeatable)")
    add("--dry-run", action="store_true", help="print the plan; authenticate and call nothing")
    add("--force", action="store_true", help="register even manifests that look unchanged")
    what = commands.add_mutually_exclusive_group()
    what.add_argument(
        "--check",
        action="store_true",
        help="change nothing; report manifests this environment's polars/Python would be "
        "refused, or whose settings differ from the file (exit 1)",
    )
    what.add_argument("--unregister", metavar="NAME", help="remove the manifest NAME")
    add(
        "--conn-id",
        default=settings.DEFAULT_CONN_ID,
        help=f"the Airflow connection of the service account (default: {settings.DEFAULT_CONN_ID})",
    )
    add("--workspace", help="overrides the file's workspace")
    add(
        "--from-this-python",
        action="store_true",
        help="register even though this is not the Python of .python-version (the workers "
        "would refuse the manifests)",
    )
    return commands


def main(argv: Sequence[str], environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    args = parser().parse_args(argv)
    try:
        declared = spec.load(args.file, args.workspace)
    except spec.ManifestFileError as error:
        for problem in error.problems:
            print(f"ERROR {args.file}: {problem}", file=err)
        return INVALID
    if unknown := [name for name in args.only or [] if name not in declared.names()]:
        print(
            f"ERROR --only names no manifest in the file: {', '.join(unknown)} "
            f"(declared: {', '.join(sorted(declared.names()))})",
            file=err,
        )
        return INVALID
    specs = [s for s in declared.manifests if not args.only or s.name in args.only]

    if args.unregister:
        target = next((s for s in specs if s.name == args.unregister), None)
        workspace = target.workspace if target else declared.workspace
        if args.dry_run:
            return _report([sync.Result(args.unregister, "would unregister", workspace)], out)
        registry = _authenticated_registry(args.conn_id, environ, out, err)
        if isinstance(registry, int):
            return registry
        code = _report([sync.unregister(args.unregister, workspace, registry)], out)
        if target is not None and code == OK:
            print(
                f"Note: {args.unregister!r} is still declared in {args.file}; the next "
                "registration adds it again.",
                file=out,
            )
        return code

    if args.dry_run:
        return _report(sync.plan(specs, "would check" if args.check else "would register"), out)
    if not args.check:
        mismatch = versions.mismatch(args.file.parent)
        if mismatch and not args.from_this_python:
            print(f"ERROR {mismatch}", file=err)
            return INVALID
        print(f"Note: {mismatch or versions.PATCH_NOTE}", file=err)
    registry = _authenticated_registry(args.conn_id, environ, out, err)
    if isinstance(registry, int):
        return registry
    if args.check:
        return _report(sync.check(specs, registry), out)
    return _report(sync.register(specs, registry, args.force), out)


def _authenticated_registry(
    conn_id: str, environ: Mapping[str, str], out: TextIO, err: TextIO
) -> Any:
    """Log in like the DAGs do, or with Polars Cloud's own variables; else the exit code."""
    from polars_cloud_provider.engines import cloud  # here: a dry run never loads the client

    registry = cloud.ManifestRegistry()
    logging_in = False  # True once Polars Cloud itself is called
    try:
        if all(environ.get(name) for name in ENV_CREDENTIALS) or environ.get(ENV_TOKEN):
            source = "the POLARS_CLOUD_* environment variables"
            logging_in = True
            registry.authenticate_from_environment()
        else:
            from polars_cloud_provider.hooks.polars_cloud import service_account

            source = f"the Airflow connection {conn_id!r}"
            login, password = service_account(conn_id)
            logging_in = True
            cloud.CloudBackend().authenticate(conn_id, login, password)
    except Exception as error:
        reason = str(error)
        for secret in (environ.get("POLARS_CLOUD_CLIENT_SECRET"), environ.get(ENV_TOKEN)):
            if secret:
                reason = reason.replace(secret, "***")
        # polars-cloud raises the same classes whether it was unreachable or refused: the
        # message tells them apart (docs/design-manifests.md).
        if isinstance(error, cloud.ComputeError):  # CloudBackend.authenticate classified it
            unreachable = str(error).startswith("Could not reach")
        else:
            unreachable = cloud._transient(error)
        if logging_in and unreachable:
            where = _URL.search(str(error))
            print(
                f"ERROR could not reach Polars Cloud{f' at {where.group(0)}' if where else ''} "
                "to log in (network, DNS or proxy; the credentials were not checked): "
                f"{reason.splitlines()[0]}",
                file=err,
            )
            return UNREACHABLE
        print(f"ERROR could not authenticate with Polars Cloud: {reason}", file=err)
        print(
            f"Set {' and '.join(ENV_CREDENTIALS)} (a service account), or make the Airflow "
            "connection available to this process (secrets backend or AIRFLOW_CONN_*).",
            file=err,
        )
        return NOT_AUTHENTICATED
    print(f"Authenticated with {source}.", file=out)
    return registry


def _report(results: list[sync.Result], out: TextIO) -> int:
    print(*sync.lines(results), sep="\n", file=out)
    counts = Counter(result.status for result in results)
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    noun = "manifest" if len(results) == 1 else "manifests"
    print(f"{len(results)} {noun}: {summary}", file=out)
    return FAILED if any(result.failed for result in results) else OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ, sys.stdout, sys.stderr))
