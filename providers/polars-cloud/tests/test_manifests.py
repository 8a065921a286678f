"""Manifests as code: manifests.toml is checked, then registered against the autospec of the
installed polars_cloud.ComputeContext (the ``fake_manifests`` fixture of
``tests/fake_manifests.py``)."""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import CONN_ID
from polars_cloud import auth as polars_cloud_auth
from polars_cloud.polars_cloud import AuthLoadError
from polars_cloud_provider.manifests import spec
from polars_cloud_provider.manifests.__main__ import (
    FAILED,
    INVALID,
    NOT_AUTHENTICATED,
    OK,
    UNREACHABLE,
    main,
)

CREDENTIALS = {
    "POLARS_CLOUD_CLIENT_ID": "client-id-for-tests",
    "POLARS_CLOUD_CLIENT_SECRET": "client-secret-for-tests",  # pragma: allowlist secret
}
TWO_MANIFESTS = """
    workspace = "analytics"

    [[manifest]]
    name = "etl-small"
    cpus = 4
    memory_gb = 8
    cluster_size = 1
    idle_timeout_mins = 10

    [[manifest]]
    name = "reports-large"
    workspace = "finance"
    instance_type = "m6i.4xlarge"
    storage_gb = 200
    cluster_size = 3
    idle_timeout_mins = 30
    labels = ["airflow", "reports"]
    connection_mode = "proxy"
    requirements = "cluster-requirements.txt"
    env_vars = { POLARS_VERBOSE = "1", API_TOKEN = "token-value-never-printed" }
"""
WORKER_FILE = Path(__file__).parent / "data" / "manifests_worker" / "manifests.toml"
"""A deployed manifests.toml: what ``worker.register`` (the register_manifests DAG) reads."""


class Run:
    """One invocation of the command, with what it printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def manifests_file(tmp_path: Path):
    (tmp_path / "cluster-requirements.txt").write_text("pyarrow\n")

    def write(text: str = TWO_MANIFESTS) -> Path:
        path = tmp_path / "manifests.toml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


def run(*argv: str, path: Path | None = None, environ: dict[str, str] | None = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    args = [*argv, "--file", str(path)] if path else list(argv)
    code = main(args, CREDENTIALS if environ is None else environ, out, err)
    return Run(code, out.getvalue(), err.getvalue())


def test_a_file_declares_each_manifest_with_its_context_arguments() -> None:
    declared = spec.load(WORKER_FILE)
    assert declared.workspace == "analytics"
    assert declared.names() == ["etl-small", "etl-small-pipeline"]
    assert [m.context_arguments() for m in declared.manifests] == [
        {
            "workspace": "analytics",
            "cpus": 2,
            "memory": 8,
            "cluster_size": 1,
            "idle_timeout_mins": 10,
        },
        {
            "workspace": "finance",
            "cpus": 4,
            "memory": 16,
            "cluster_size": 2,
            "idle_timeout_mins": 15,
        },
    ]


def test_a_workspace_given_to_load_replaces_the_files_default_only(manifests_file) -> None:
    declared = spec.load(manifests_file(), workspace="staging")
    assert declared.workspace == "staging"
    assert [m.workspace for m in declared.manifests] == ["staging", "finance"]
    assert [m.workspace for m in spec.load(manifests_file()).manifests] == [
        "analytics",
        "finance",
    ]


def test_the_workspace_option_applies_to_registration(fake_manifests, manifests_file) -> None:
    result = run("--workspace", "staging", path=manifests_file())
    assert result.code == OK, result.err
    assert fake_manifests.lookups() == [("staging", "etl-small"), ("finance", "reports-large")]
    assert set(fake_manifests.registered) == {
        ("staging", "etl-small"),
        ("finance", "reports-large"),
    }


def test_a_file_without_a_workspace_needs_the_option(fake_manifests, manifests_file) -> None:
    text = textwrap.dedent(TWO_MANIFESTS).replace('workspace = "analytics"\n', "", 1)
    path = manifests_file(text)

    refused = run(path=path)
    assert refused.code == INVALID
    assert 'names no workspace: add workspace = "<name>" at the top' in refused.err
    assert fake_manifests.lookups() == []

    given = run("--workspace", "staging", path=path)
    assert given.code == OK, given.err
    assert ("staging", "etl-small") in fake_manifests.registered


def test_an_invalid_workspace_option_is_refused_like_the_files(fake_cloud, manifests_file) -> None:
    result = run("--workspace", "no spaces", path=manifests_file())
    assert result.code == INVALID
    assert "workspace must be 1-63 letters" in result.err
    fake_cloud.authenticate.assert_not_called()


def test_registers_each_manifest_with_its_exact_arguments(
    fake_cloud, fake_manifests, manifests_file
) -> None:
    path = manifests_file()
    result = run(path=path)

    assert result.code == OK, result.err
    fake_cloud.authenticate.assert_called_once_with(interactive=False)
    assert fake_manifests.lookups() == [("analytics", "etl-small"), ("finance", "reports-large")]
    assert fake_manifests.register_calls() == [
        {
            "workspace": "analytics",
            "cpus": 4,
            "memory": 8,
            "cluster_size": 1,
            "idle_timeout_mins": 10,
        },
        {
            "workspace": "finance",
            "instance_type": "m6i.4xlarge",
            "storage": 200,
            "cluster_size": 3,
            "idle_timeout_mins": 30,
            "labels": ["airflow", "reports"],
            "connection_mode": "proxy",
            "env_vars": {"POLARS_VERBOSE": "1", "API_TOKEN": "token-value-never-printed"},
            "requirements": str(path.parent / "cluster-requirements.txt"),
        },
    ]
    assert set(fake_manifests.registered) == {
        ("analytics", "etl-small"),
        ("finance", "reports-large"),
    }
    lines = result.out.splitlines()
    assert [line.split()[:2] for line in lines[1:3]] == [
        ["etl-small", "registered"],
        ["reports-large", "registered"],
    ]
    assert lines[-1] == "2 manifests: 2 registered"
    assert "token-value-never-printed" not in result.out + result.err


def test_a_dry_run_prints_the_plan_and_calls_nothing(
    fake_cloud, fake_manifests, manifests_file
) -> None:
    result = run("--dry-run", path=manifests_file())

    assert result.code == OK
    fake_cloud.authenticate.assert_not_called()
    fake_cloud.ComputeContext.assert_not_called()
    assert "etl-small  " in result.out and "would register" in result.out
    assert "cpus=4 memory=8 cluster_size=1 idle_timeout_mins=10" in result.out
    assert "env_vars=[API_TOKEN, POLARS_VERBOSE]" in result.out
    assert "token-value-never-printed" not in result.out


def test_a_second_run_changes_nothing_and_says_so(fake_manifests, manifests_file) -> None:
    path = manifests_file()
    assert run(path=path).code == OK
    registrations = len(fake_manifests.register_calls())

    again = run(path=path)

    assert again.code == OK
    assert len(fake_manifests.register_calls()) == registrations
    assert "etl-small      unchanged      already registered with these settings" in again.out
    # labels and requirements cannot be read back from polars-cloud 0.12: say so.
    assert "labels, requirements not read back: --force re-registers" in again.out
    assert again.out.splitlines()[-1] == "2 manifests: 2 unchanged"


def test_force_registers_unchanged_manifests(fake_manifests, manifests_file) -> None:
    path = manifests_file()
    run(path=path)
    forced = run("--force", "--only", "etl-small", path=path)
    assert forced.code == OK
    assert "etl-small  updated        forced (--force)" in forced.out
    assert len(fake_manifests.register_calls()) == 3


def test_a_changed_manifest_is_registered_again_with_the_difference(
    fake_manifests, manifests_file
) -> None:
    path = manifests_file()
    run(path=path)
    path.write_text(
        path.read_text().replace("cpus = 4\nmemory_gb = 8", "cpus = 16\nmemory_gb = 64")
    )

    result = run(path=path)

    assert result.code == OK
    assert "etl-small      updated        cpus 4 -> 16, memory_gb 8 -> 64" in result.out
    assert "reports-large  unchanged" in result.out
    assert fake_manifests.registered[("analytics", "etl-small")]["cpus"] == 16


def test_a_manifest_recorded_with_other_versions_is_re_registered(
    fake_manifests, manifests_file
) -> None:
    path = manifests_file()
    run(path=path)
    fake_manifests.drifted.add(("analytics", "etl-small"))

    result = run(path=path)

    assert result.code == OK
    assert (
        "etl-small      re-registered  recorded versions differed (locally installed" in result.out
    )
    assert ("analytics", "etl-small") not in fake_manifests.drifted


def test_check_reports_drift_missing_and_changed_manifests(fake_manifests, manifests_file) -> None:
    path = manifests_file()
    missing = run("--check", path=path)
    assert missing.code == FAILED
    assert (
        "etl-small      MISSING        not registered in analytics: make manifests" in missing.out
    )

    run(path=path)
    assert run("--check", path=path).code == OK
    registrations = len(fake_manifests.register_calls())

    fake_manifests.drifted.add(("analytics", "etl-small"))
    path.write_text(path.read_text().replace("cluster_size = 3", "cluster_size = 4"))
    drift = run("--check", path=path)

    assert drift.code == FAILED
    assert "etl-small      DRIFT          locally installed polars version (2.0.0)" in drift.out
    assert "re-register from this environment: make manifests" in drift.out
    assert "reports-large  DIFFERS        cluster_size 3 -> 4: make manifests" in drift.out
    assert len(fake_manifests.register_calls()) == registrations  # --check changes nothing


def test_one_failing_manifest_does_not_stop_the_others(fake_manifests, manifests_file) -> None:
    fake_manifests.refuse["etl-small"] = RuntimeError("quota exceeded for workspace analytics")

    result = run(path=manifests_file())

    assert result.code == FAILED
    assert (
        "etl-small      FAILED         RuntimeError: quota exceeded for workspace analytics"
        in result.out
    )
    assert ("finance", "reports-large") in fake_manifests.registered
    assert result.out.splitlines()[-1] == "2 manifests: 1 FAILED, 1 registered"


def test_only_registers_the_named_manifest(fake_manifests, manifests_file) -> None:
    result = run("--only", "reports-large", path=manifests_file())
    assert result.code == OK
    assert set(fake_manifests.registered) == {("finance", "reports-large")}


def test_only_with_an_unknown_name_is_refused(fake_cloud, fake_manifests, manifests_file) -> None:
    result = run("--only", "etl-smal", path=manifests_file())
    assert result.code == INVALID
    assert "--only names no manifest in the file: etl-smal" in result.err
    fake_cloud.ComputeContext.assert_not_called()


def test_unregister_removes_the_manifest_once(fake_cloud, fake_manifests, manifests_file) -> None:
    path = manifests_file()
    run(path=path)

    dry = run("--unregister", "reports-large", "--dry-run", path=path)
    assert dry.code == OK and "would unregister" in dry.out
    assert ("finance", "reports-large") in fake_manifests.registered

    removed = run("--unregister", "reports-large", path=path)
    assert removed.code == OK
    assert "reports-large  unregistered   removed from finance" in removed.out
    assert "still declared" in removed.out
    assert ("finance", "reports-large") not in fake_manifests.registered

    again = run("--unregister", "reports-large", path=path)
    assert again.code == OK
    assert "absent" in again.out and "nothing to do" in again.out


def test_unregister_of_an_undeclared_manifest_uses_the_default_workspace(
    fake_manifests, manifests_file
) -> None:
    fake_manifests.registered[("analytics", "old-cluster")] = {"cluster_size": 1}
    result = run("--unregister", "old-cluster", path=manifests_file())
    assert result.code == OK
    assert ("analytics", "old-cluster") not in fake_manifests.registered


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("cpus = 4", "cpu = 4"), "manifest 'etl-small': unknown key 'cpu' (did you mean 'cpus'?)"),
        (
            ("cpus = 4", 'cpus = "4"'),
            "manifest 'etl-small': cpus must be a whole number >= 1, got '4'",
        ),
        (("cpus = 4", "cpus = true"), "manifest 'etl-small': cpus must be a whole number >= 1"),
        (('name = "etl-small"\n', ""), "manifest #1 has no name"),
        (
            ('"reports-large"', '"etl-small"'),
            "manifest name 'etl-small' is declared more than once",
        ),
        (
            ("idle_timeout_mins = 10", "idle_timeout_mins = 5"),
            "manifest 'etl-small': idle_timeout_mins must be a whole number of minutes >= 10",
        ),
        (("cluster_size = 1", "cluster_size = 0"), "cluster_size must be a whole number >= 1"),
        (
            ("cpus = 4", 'cpus = 4\ninstance_type = "m6i.large"'),
            "manifest 'etl-small': give cpus + memory_gb or instance_type, not both",
        ),
        (
            ("memory_gb = 8\n", ""),
            "manifest 'etl-small': cpus and memory_gb go together; add memory_gb",
        ),
        (
            ('connection_mode = "proxy"', 'connection_mode = "tunnel"'),
            "manifest 'reports-large': connection_mode must be one of 'direct', 'proxy'",
        ),
        (('"cluster-requirements.txt"', '"missing.txt"'), "requirements file"),
        (('workspace = "analytics"', "workspace = analytics"), "not valid TOML"),
        (
            ('workspace = "analytics"', 'workspace = "analytics"\nmanifests = []'),
            "unknown top-level key 'manifests' (did you mean 'manifest'?)",
        ),
    ],
    ids=[
        "unknown-key",
        "wrong-type",
        "bool-is-not-a-number",
        "missing-name",
        "duplicate-names",
        "timeout-5",
        "zero-nodes",
        "cpus-and-instance-type",
        "cpus-without-memory",
        "unknown-connection-mode",
        "missing-requirements-file",
        "invalid-toml",
        "unknown-top-level-key",
    ],
)
def test_a_bad_file_gives_one_clear_error_and_calls_nothing(
    fake_cloud, fake_manifests, manifests_file, change, error
) -> None:
    old, new = change
    text = textwrap.dedent(TWO_MANIFESTS)
    assert old in text
    path = manifests_file(text.replace(old, new, 1))

    result = run(path=path)

    assert result.code == INVALID
    problems = result.err.splitlines()
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"ERROR {path}: ")
    assert error in problems[0]
    fake_cloud.authenticate.assert_not_called()
    fake_cloud.ComputeContext.assert_not_called()


def test_authenticates_with_the_airflow_connection_like_the_dags(
    fake_cloud, fake_manifests, manifests_file, cloud_connection
) -> None:
    result = run(path=manifests_file(), environ={})

    assert result.code == OK, result.err
    fake_cloud.authenticate.assert_called_once_with(
        client_id=cloud_connection["login"],
        client_secret=cloud_connection["password"],
        interactive=False,
    )
    assert "Authenticated with the Airflow connection" in result.out
    assert cloud_connection["password"] not in result.out + result.err


def test_the_conn_id_option_names_the_airflow_connection(
    fake_cloud, fake_manifests, manifests_file, cloud_connection, monkeypatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_REGISTRAR",
        json.dumps(
            {
                "conn_type": "polars_cloud",
                "login": "registrar-id",
                "password": "registrar-secret",  # pragma: allowlist secret
            }
        ),
    )
    result = run("--conn-id", "registrar", path=manifests_file(), environ={})

    assert result.code == OK, result.err
    fake_cloud.authenticate.assert_called_once_with(
        client_id="registrar-id", client_secret="registrar-secret", interactive=False
    )
    assert "Authenticated with the Airflow connection 'registrar'." in result.out


def test_an_unknown_conn_id_is_named(fake_cloud, fake_manifests, manifests_file) -> None:
    result = run("--conn-id", "nowhere", path=manifests_file(), environ={})
    assert result.code == NOT_AUTHENTICATED
    assert "Airflow connection 'nowhere' for Polars Cloud was not found" in result.err
    fake_cloud.ComputeContext.assert_not_called()


def test_without_credentials_it_stops_before_touching_anything(
    fake_cloud, fake_manifests, manifests_file, monkeypatch
) -> None:
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)

    result = run(path=manifests_file(), environ={})

    assert result.code == NOT_AUTHENTICATED
    assert "could not authenticate" in result.err and "POLARS_CLOUD_CLIENT_ID" in result.err
    fake_cloud.ComputeContext.assert_not_called()


def test_rejected_credentials_are_not_echoed(fake_cloud, fake_manifests, manifests_file) -> None:
    secret = CREDENTIALS["POLARS_CLOUD_CLIENT_SECRET"]
    fake_cloud.authenticate.side_effect = RuntimeError(f"invalid client secret {secret}")

    result = run(path=manifests_file())

    assert result.code == NOT_AUTHENTICATED
    assert "invalid client secret ***" in result.err
    assert secret not in result.out + result.err


# What polars-cloud 0.12 raised here without network (unshare -n), word for word: logging in
# with a client id and secret (after 14 s of its own retries), and checking a token.
NO_NETWORK_LOGIN = AuthLoadError(
    "Error getting access token: Reqwest(reqwest::Error { kind: Request, url: "
    '"https://auth.prd.cloud.pola.rs/realms/Polars/protocol/openid-connect/token", source: '
    'hyper_util::client::legacy::Error(Connect, ConnectError("dns error", Custom { kind: '
    'Uncategorized, error: "failed to lookup address information: Temporary failure in name '
    'resolution" })) })\n\tLog in with `pc login` or set the environment variables.\n\tSee '
    "https://docs.pola.rs/polars-cloud/explain/authentication/ for more details."
)
NO_NETWORK_TOKEN_CHECK = RuntimeError(
    "Error calling REST endpoint: error sending request for url "
    "(https://api.prd.cloud.pola.rs/api/v1/user/me)\n"
    "https://api.prd.cloud.pola.rs/api/v1/user/me\nclient error (Connect)"
)
TOKEN_ENDPOINT = "https://auth.prd.cloud.pola.rs/realms/Polars/protocol/openid-connect/token"


@pytest.mark.parametrize(
    ("error", "endpoint"),
    [
        (NO_NETWORK_LOGIN, TOKEN_ENDPOINT),
        (NO_NETWORK_TOKEN_CHECK, "https://api.prd.cloud.pola.rs/api/v1/user/me"),
    ],
    ids=["login", "token-check"],
)
def test_an_unreachable_polars_cloud_is_not_called_a_credentials_problem(
    fake_cloud, fake_manifests, manifests_file, error, endpoint
) -> None:
    fake_cloud.authenticate.side_effect = error

    result = run(path=manifests_file())

    assert result.code == UNREACHABLE != NOT_AUTHENTICATED
    assert f"\nERROR could not reach Polars Cloud at {endpoint} to log in (" in result.err
    assert "credentials were not checked" in result.err
    assert "could not authenticate" not in result.err
    fake_cloud.ComputeContext.assert_not_called()


def test_an_unreachable_polars_cloud_through_the_airflow_connection_too(
    fake_cloud, fake_manifests, manifests_file, cloud_connection
) -> None:
    fake_cloud.authenticate.side_effect = NO_NETWORK_LOGIN

    result = run(path=manifests_file(), environ={})

    assert result.code == UNREACHABLE
    assert f"could not reach Polars Cloud at {TOKEN_ENDPOINT}" in result.err
    assert cloud_connection["password"] not in result.out + result.err


@pytest.mark.parametrize("token", ["expired", "garbage"])
def test_credentials_polars_cloud_refuses_are_a_credentials_problem(
    fake_cloud, fake_manifests, manifests_file, monkeypatch, token
) -> None:
    """Refusals the installed polars-cloud raises offline, from the token itself."""
    value = {
        # A JWT whose payload is {"exp": 1000000000}: expired in 2001.
        "expired": "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMDAwMDAwMDB9.c2ln",  # pragma: allowlist secret
        "garbage": "not-a-jwt",
    }[token]
    monkeypatch.setenv("POLARS_CLOUD_ACCESS_TOKEN", value)
    fake_cloud.authenticate.side_effect = _raised_by_polars_cloud()

    result = run(path=manifests_file(), environ={"POLARS_CLOUD_ACCESS_TOKEN": value})

    assert result.code == NOT_AUTHENTICATED
    assert "ERROR could not authenticate with Polars Cloud: The POLARS_CLOUD_ACCESS_TOKEN" in (
        result.err
    )
    assert "could not reach" not in result.err


def test_a_refusal_naming_the_token_endpoint_is_not_taken_for_a_network_failure(
    fake_cloud, fake_manifests, manifests_file
) -> None:
    """The endpoint's URL holds "openid-connect": only the words around it decide. (The shape
    of reqwest's status error; no refusal by the real service could be observed offline.)"""
    fake_cloud.authenticate.side_effect = AuthLoadError(
        "Error getting access token: Reqwest(reqwest::Error { kind: Status(401), "
        f'url: "{TOKEN_ENDPOINT}" }})'
    )

    result = run(path=manifests_file())

    assert result.code == NOT_AUTHENTICATED, result.err


def _raised_by_polars_cloud() -> BaseException:
    try:
        # The real one (the fake replaces pc.authenticate): it checks the token's own fields.
        polars_cloud_auth.authenticate(interactive=False)
    except Exception as error:
        return error
    raise AssertionError("polars-cloud accepted the token")


def test_a_file_that_is_not_utf8_is_refused_in_one_line(fake_cloud, manifests_file) -> None:
    path = manifests_file()
    path.write_bytes(b'workspace = "caf\xe9"\n')  # Latin-1, as some editors save it
    result = run(path=path)
    assert result.code == INVALID
    assert result.err.splitlines() == [
        f"ERROR {path}: is not UTF-8 text (byte 0xe9 at offset 16): save it as UTF-8"
    ]
    fake_cloud.authenticate.assert_not_called()


def test_another_python_than_the_workers_is_refused_before_registering(
    fake_cloud, fake_manifests, manifests_file
) -> None:
    """Polars Cloud compares the registering Python, patch included, with the worker's: a
    laptop's interpreter registering would lock the workers out of the manifests."""
    import sys

    path = manifests_file()
    other = f"{sys.version_info.major}.{sys.version_info.minor + 1}"
    (path.parent / ".python-version").write_text(f"{other}\n")

    refused = run(path=path)
    assert refused.code == INVALID
    assert refused.err.startswith(f"ERROR this is Python {sys.version_info.major}.")
    assert f"the workers run Python {other}" in refused.err
    assert "register_manifests DAG" in refused.err
    fake_cloud.authenticate.assert_not_called()

    anyway = run("--from-this-python", path=path)
    assert anyway.code == OK and len(fake_manifests.register_calls()) == 2


def test_the_workers_python_still_warns_about_the_patch(fake_manifests, manifests_file) -> None:
    import sys

    path = manifests_file()
    (path.parent / ".python-version").write_text(
        f"{sys.version_info.major}.{sys.version_info.minor}\n"
    )
    result = run(path=path)
    assert result.code == OK
    assert "Note: registering with Python" in result.err and "patch" in result.err


def test_the_workers_register_the_manifests_from_a_task(
    fake_cloud, fake_manifests, cloud_connection
) -> None:
    """What a register_manifests DAG runs: the deployed manifests.toml, the task's login."""
    from polars_cloud_provider.hooks.polars_cloud import authenticate
    from polars_cloud_provider.manifests import worker

    dags_folder = WORKER_FILE.parent  # the file inside the DAGs folder
    lines = authenticate(worker.register)(dags_folder)

    declared = spec.load(WORKER_FILE)
    assert [line.split()[:2] for line in lines] == [
        [m.name, "registered"] for m in declared.manifests
    ]
    assert set(fake_manifests.registered) == {(m.workspace, m.name) for m in declared.manifests}
    assert [
        line.split()[1] for line in authenticate(worker.register)(dags_folder, check_only=True)
    ] == ["ok"] * len(declared.manifests)
    fake_cloud.authenticate.assert_called_with(
        client_id=cloud_connection["login"],
        client_secret=cloud_connection["password"],
        interactive=False,
    )


def test_a_task_finds_the_file_beside_the_dags_folder_first(tmp_path) -> None:
    from polars_cloud_provider.compute.errors import ComputeError
    from polars_cloud_provider.manifests import worker

    dags = tmp_path / "dags"
    dags.mkdir()
    with pytest.raises(ComputeError, match=r"No manifests\.toml found at .* or .*: deploy it"):
        worker.manifests_file(dags)
    shutil.copy(WORKER_FILE, dags / "manifests.toml")
    assert worker.manifests_file(dags) == dags / "manifests.toml"
    shutil.copy(WORKER_FILE, tmp_path / "manifests.toml")
    assert worker.manifests_file(dags) == tmp_path / "manifests.toml"


def test_a_task_fails_naming_the_manifests_that_failed(
    fake_cloud, fake_manifests, cloud_connection
) -> None:
    from polars_cloud_provider.compute.errors import ComputeError
    from polars_cloud_provider.hooks.polars_cloud import authenticate
    from polars_cloud_provider.manifests import worker

    fake_manifests.refuse["etl-small-pipeline"] = RuntimeError("quota exceeded")
    with pytest.raises(ComputeError, match=r"1 manifest\(s\) failed: etl-small-pipeline"):
        authenticate(worker.register)(WORKER_FILE.parent)
    assert ("analytics", "etl-small") in fake_manifests.registered


def test_with_the_local_backend_the_task_only_lists_the_manifests(
    fake_cloud, local_connection
) -> None:
    from polars_cloud_provider.hooks.polars_cloud import authenticate
    from polars_cloud_provider.manifests import worker

    lines = authenticate(worker.register)(WORKER_FILE.parent)
    assert len(lines) == 2 and all("would register" in line for line in lines)
    fake_cloud.ComputeContext.assert_not_called()
