"""The provider is a real distribution: built, installed from its wheel, registered with
Airflow, and upgraded in a project by a version bump alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import TEMPLATE, bake_ok, clean_env

PROVIDER = TEMPLATE / "providers" / "polars-cloud"
DISTRIBUTION = "airflow-provider-polars-cloud"
UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))


def run(command: list[str], cwd: Path, timeout: float = 900, **env: str):
    result = subprocess.run(
        command, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def provider_version(source: Path = PROVIDER) -> str:
    init = (source / "src" / "polars_cloud_provider" / "__init__.py").read_text()
    [line] = [line for line in init.splitlines() if line.startswith("__version__")]
    return line.split('"')[1]


def build(source: Path, out: Path) -> tuple[Path, Path]:
    run([UV, "build", str(source), "--out-dir", str(out)], source)
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return build(PROVIDER, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def wheel_env(built, tmp_path_factory) -> Path:
    """A fresh virtual environment with the template's locked packages, except the provider,
    which comes from the built wheel (not from this checkout)."""
    wheel, _ = built
    where = tmp_path_factory.mktemp("wheel-env")
    requirements = where / "requirements.txt"
    run(
        [
            UV,
            "export",
            "--locked",
            "--all-groups",
            "--no-hashes",
            "--no-emit-workspace",
            "--no-header",
            "--quiet",
            "--output-file",
            str(requirements),
        ],
        TEMPLATE,
    )
    venv = where / "venv"
    run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], where)
    python = venv / "bin" / "python"
    run([UV, "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements)], where)
    run([UV, "pip", "install", "--quiet", "--python", str(python), str(wheel)], where)
    return python


def test_the_build_makes_a_typed_wheel_and_an_sdist_with_the_tests(built) -> None:
    wheel, sdist = built
    version = provider_version()
    assert wheel.name == f"airflow_provider_polars_cloud-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(
            f"airflow_provider_polars_cloud-{version}.dist-info/entry_points.txt"
        ).decode()
    assert "polars_cloud_provider/py.typed" in names
    assert "polars_cloud_provider/hooks/polars_cloud.py" in names
    assert not [name for name in names if "/tests/" in name or name.startswith("tests/")]
    assert "[apache_airflow_provider]" in entry_points
    assert "polars_cloud_provider.get_provider_info:get_provider_info" in entry_points
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    prefix = f"airflow_provider_polars_cloud-{version}"
    assert f"{prefix}/tests/conftest.py" in members
    assert f"{prefix}/CHANGELOG.md" in members


def test_the_wheel_registers_the_provider_with_airflow(wheel_env: Path, tmp_path: Path) -> None:
    home = {"AIRFLOW_HOME": str(tmp_path / "home")}
    where = run(
        [
            str(wheel_env),
            "-c",
            "import polars_cloud_provider; print(polars_cloud_provider.__file__)",
        ],
        tmp_path,
    )
    assert str(wheel_env.parents[1]) in where.stdout, "imported from the wheel, not the checkout"
    listed = run(
        [str(wheel_env.with_name("airflow")), "providers", "list", "--output", "json"],
        tmp_path,
        **home,
    )
    providers = {p["package_name"]: p["version"] for p in json.loads(listed.stdout)}
    assert providers[DISTRIBUTION] == provider_version()
    script = (
        "import json\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "pm = ProvidersManager()\n"
        "print(json.dumps({\n"
        "    'hook': pm.hooks['polars_cloud'].hook_class_name,\n"
        "    'fields': sorted(k for k in pm.connection_form_widgets if 'polars_cloud' in k),\n"
        "    'behaviour': pm.field_behaviours['polars_cloud'],\n"
        "    'decorators': sorted(d for d in pm.taskflow_decorators if 'polars' in d),\n"
        "    'links': sorted(x for x in pm.extra_links_class_names if 'polars' in x),\n"
        "    'triggers': sorted(t.trigger_class_name for t in pm.trigger\n"
        "                       if t.package_name == 'airflow-provider-polars-cloud'),\n"
        "}))\n"
    )
    answer = run([str(wheel_env), "-c", script], tmp_path, **home).stdout
    found = json.loads(answer.strip().splitlines()[-1])  # Airflow logs its warnings on stdout
    assert found == {
        "hook": "polars_cloud_provider.hooks.polars_cloud.PolarsCloudHook",
        "fields": [
            "extra__polars_cloud__backend",
            "extra__polars_cloud__local_root",
            "extra__polars_cloud__workspace",
        ],
        "behaviour": {
            "hidden_fields": ["host", "schema", "port", "extra"],
            "relabeling": {"login": "Client ID", "password": "Client secret"},
            "placeholders": {
                "login": "service account client id",
                "password": "service account client secret",  # pragma: allowlist secret
            },
        },
        "decorators": ["polars_cloud"],
        "links": ["polars_cloud_provider.links.query.PolarsQueryLink"],
        "triggers": ["polars_cloud_provider.triggers.query"],
    }


def test_a_bake_passes_its_suite_with_the_provider_from_the_wheel(
    cookies_session, wheel_env: Path
) -> None:
    project = bake_ok(cookies_session)
    suite = subprocess.run(
        [str(wheel_env), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cookies"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]


def test_the_project_pins_the_provider_this_repository_builds(default_project: Path) -> None:
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    assert f"{DISTRIBUTION}=={provider_version()}" in pyproject["project"]["dependencies"]
    source = pyproject["tool"]["uv"]["sources"][DISTRIBUTION]
    assert source == {"path": "vendor/airflow-provider-polars-cloud"}
    assert provider_version() in (PROVIDER / "CHANGELOG.md").read_text()


# --- an upgrade is a version bump -------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd).stdout


def cruft(cwd: Path, *args: str):
    return run([str(Path(sys.executable).with_name("cruft")), *args], cwd)


def template_repository(where: Path) -> Path:
    """This checkout's files (uncommitted changes included) as a git repository: cruft needs
    the template as one."""
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], TEMPLATE
    ).stdout
    for relative in filter(None, listed.split("\0")):
        if (TEMPLATE / relative).is_file():
            (where / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / relative, where / relative)
    git(where, "init", "--quiet", "--initial-branch=main")
    git(where, "add", "--all")
    git(where, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "Template")
    return where


def release_next_version(template: Path) -> str:
    """What a provider release does to the template: a change of code, a new version, the
    project's pin following it."""
    old = provider_version(template / "providers" / "polars-cloud")
    major, minor, patch = (int(part) for part in old.split("."))
    new = f"{major}.{minor}.{patch + 1}"
    init = template / "providers" / "polars-cloud" / "src" / "polars_cloud_provider" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{old}"', f'"{new}"') + "\nRELEASE_NOTE = 'next'\n")
    changelog = template / "providers" / "polars-cloud" / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace("# Changelog\n", f"# Changelog\n\n## {new}\n\n- next\n", 1)
    )
    pyproject = template / "{{cookiecutter.project_slug}}" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f"{DISTRIBUTION}=={old}", f"{DISTRIBUTION}=={new}")
    )
    git(template, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", f"Provider {new}")
    return new


def make_it_yours(project: Path) -> None:
    """What a user does after generating: a DAG of their own, their datasets and settings."""
    dags = project / "dags"
    own = (dags / "multistage_pipeline.py").read_text()
    own = (
        own.replace("def multistage_pipeline", "def my_summary")
        .replace("multistage_pipeline()", "my_summary()")
        .replace('assets.output("category_summary")', 'assets.output("my_summary")')
        .replace('partition_uri("category_summary"', 'partition_uri("my_summary"')
    )
    (dags / "my_summary.py").write_text(own)
    package = dags / "polars_cloud_pipelines"
    settings = package / "settings.py"
    settings.write_text(
        settings.read_text().replace('"retry_delay_s": "60"', '"retry_delay_s": "30"')
    )
    datasets = package / "datasets.py"
    datasets.write_text(datasets.read_text() + "\n# Our own datasets are listed above.\n")


def test_an_upgrade_changes_only_the_pin_and_the_vendored_provider(
    tmp_path: Path, wheel_env: Path, built: tuple[Path, Path]
) -> None:
    template = template_repository(tmp_path / "template")
    cruft(tmp_path, "create", "--no-input", str(template), "--output-dir", str(tmp_path / "out"))
    project = tmp_path / "out" / "polars-cloud-pipelines"
    git(project, "init", "--quiet", "--initial-branch=main")
    make_it_yours(project)
    git(project, "add", "--all")
    git(project, "-c", "user.name=u", "-c", "user.email=u@u", "commit", "-qm", "Ours")
    mine = {path: (project / path).read_bytes() for path in git(project, "ls-files").split()}

    new = release_next_version(template)
    cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")

    changed = set(git(project, "status", "--porcelain", "--untracked-files=all").splitlines())
    paths = {line[3:] for line in changed}
    assert not [p for p in paths if p.endswith((".rej", ".orig"))], "no conflict"
    assert paths - {".cruft.json", "pyproject.toml"} == {
        "vendor/airflow-provider-polars-cloud/CHANGELOG.md",
        "vendor/airflow-provider-polars-cloud/src/polars_cloud_provider/__init__.py",
    }
    pin = git(project, "diff", "HEAD", "--unified=0", "pyproject.toml")
    assert [line for line in pin.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"] == [
        f'-    "{DISTRIBUTION}=={provider_version()}",',
        f'+    "{DISTRIBUTION}=={new}",',
    ]
    for path, content in mine.items():
        if not path.startswith("vendor/") and path not in {"pyproject.toml", ".cruft.json"}:
            assert (project / path).read_bytes() == content, f"{path} is the user's"

    # The user's suite passes on the new release, installed from its vendored copy.
    vendored = project / "vendor" / "airflow-provider-polars-cloud"
    wheel, _ = build(vendored, tmp_path / "dist-next")
    run([UV, "pip", "install", "--quiet", "--python", str(wheel_env), str(wheel)], tmp_path)
    try:
        installed = run(
            [
                str(wheel_env),
                "-c",
                "import polars_cloud_provider as p; print(p.__version__, p.RELEASE_NOTE)",
            ],
            tmp_path,
        )
        assert installed.stdout.split() == [new, "next"]
        suite = subprocess.run(
            [str(wheel_env), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cookies"],
            cwd=project,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    finally:  # the module's environment goes back to this checkout's release (its wheel)
        wheel, _ = built
        run(
            [
                UV,
                "pip",
                "install",
                "--quiet",
                "--reinstall-package",
                DISTRIBUTION,
                "--python",
                str(wheel_env),
                str(wheel),
            ],
            tmp_path,
        )
