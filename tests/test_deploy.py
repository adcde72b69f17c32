"""The docker-compose stack agrees with the code: pinned images, search attributes, worker flags.

No Docker here: the files are parsed, and each claim is checked against what the code defines
(`workflows.search_attributes.SEARCH_ATTRIBUTES`, `worker.build_parser()`, the settings modules).
"""

from __future__ import annotations

import argparse
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from ruamel.yaml import YAML

import worker
from workflows.search_attributes import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
REGISTER_SCRIPT = "register-search-attributes.sh"

# Source files that read the worker's environment; a LEADFLOW_* / TEMPORAL_* variable the compose
# file gives the worker must be read in one of them (as a quoted name), or it does nothing.
ENV_READERS = (ROOT / "worker.py", ROOT / "activities" / "settings.py", ROOT / "leadclient" / "connect.py")

# name[:tag][@digest]; the tag must start with a version number of at least two parts.
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?(?:@sha256:[0-9a-f]{64})?$"
)
_VERSION_TAG = re.compile(r"^v?\d+\.\d+")
_NAME_TYPE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)=(?P<type>[A-Za-z]+)$")
_INTERPOLATION = re.compile(r"\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


# ---- helpers -----------------------------------------------------------------------------------


def _load_compose() -> dict[str, Any]:
    data = YAML(typ="safe").load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict) and services, "docker-compose.yml has no services"
    return services


def _as_list(value: Any) -> list[str]:
    """A compose command / entrypoint, in list or string form, as a list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    assert isinstance(value, list), f"expected a list or a string, got {value!r}"
    return [str(item) for item in value]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in mapping or `KEY=value` list form."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(key): "" if value is None else str(value) for key, value in env.items()}
    result: dict[str, str] = {}
    for item in env:
        key, _, value = str(item).partition("=")
        result[key] = value
    return result


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name → condition (`service_started` for the short list form)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(name): "service_started" for name in deps}
    return {str(name): str((spec or {}).get("condition", "service_started")) for name, spec in deps.items()}


def _resolve(text: str) -> str:
    """`${VAR:-default}` → default, as compose does when VAR is unset."""
    return _INTERPOLATION.sub(lambda m: m.group("default") or "", text)


def _find_service(services: dict[str, dict[str, Any]], image_prefix: str) -> tuple[str, dict[str, Any]]:
    found = [(name, svc) for name, svc in services.items() if str(svc.get("image", "")).startswith(image_prefix)]
    assert len(found) == 1, f"expected exactly one service with image {image_prefix}*, found {[n for n, _ in found]}"
    return found[0]


def _worker_service(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert "worker" in services, "no `worker` service (the README and `--scale worker=N` name it so)"
    return services["worker"]


def _dockerfile_stages() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The Dockerfile as (base image, stage alias, [(instruction, arguments)]), ARG defaults applied."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default.strip().strip('"')
        elif instruction == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            stages.append((base, alias, []))
        else:
            assert stages, f"instruction before FROM: {line}"
            stages[-1][2].append((instruction, rest))
    assert stages, "the Dockerfile has no FROM"
    return stages


def _assert_pinned(image: str, where: str) -> None:
    assert "$" not in image, f"{where}: image {image!r} is chosen at run time, not pinned in the file"
    match = _IMAGE.match(image)
    assert match, f"{where}: {image!r} is not an image reference"
    tag = match.group("tag")
    assert tag, f"{where}: {image!r} has no tag (that means `latest`)"
    assert "latest" not in tag.lower(), f"{where}: {image!r} uses a moving `latest` tag"
    assert _VERSION_TAG.match(tag), f"{where}: {image!r} is not pinned to an explicit version (e.g. 1.2.3)"


# ---- images ------------------------------------------------------------------------------------


def test_every_compose_image_is_pinned_to_an_explicit_version() -> None:
    services = _services(_load_compose())
    for name, service in services.items():
        assert "image" in service or "build" in service, f"service {name} has neither image nor build"
        if "image" in service:
            _assert_pinned(str(service["image"]), f"service {name}")


def test_the_stack_has_the_expected_images() -> None:
    services = _services(_load_compose())
    images = {str(svc.get("image", "")).split(":")[0] for svc in services.values()}
    for expected in ("postgres", "temporalio/auto-setup", "temporalio/admin-tools", "temporalio/ui"):
        assert expected in images, f"no {expected} service in docker-compose.yml"


def test_admin_tools_and_server_are_the_same_temporal_release() -> None:
    services = _services(_load_compose())
    _, server = _find_service(services, "temporalio/auto-setup:")
    _, tools = _find_service(services, "temporalio/admin-tools:")
    server_version = str(server["image"]).split(":")[1]
    tools_version = str(tools["image"]).split(":")[1].split("-")[0]
    assert tools_version == server_version, f"admin-tools {tools_version} vs server {server_version}"


def test_worker_image_tag_is_the_project_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    image = str(_worker_service(_services(_load_compose())).get("image", ""))
    assert image.endswith(f":{version}"), f"worker image {image!r} should be tagged {version} (pyproject.toml)"


def test_dockerfile_base_images_are_pinned_and_match_requires_python() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    stages = _dockerfile_stages()
    aliases = {alias for _, alias, _ in stages if alias}
    for base, _, _ in stages:
        if base in aliases:  # FROM an earlier stage
            continue
        _assert_pinned(base, "Dockerfile FROM")
        name, tag = base.split("@")[0].rsplit(":", 1)
        assert name in ("python", "docker.io/library/python"), f"unexpected base image {base!r}"
        version = re.match(r"\d+\.\d+\.\d+", tag)
        assert version, f"{base} does not name an exact Python version (e.g. 3.11.13)"
        assert Version(version.group(0)) in SpecifierSet(requires), (
            f"{base} does not satisfy requires-python {requires}"
        )


# ---- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_runs_worker_py_as_a_non_root_user() -> None:
    _, _, instructions = _dockerfile_stages()[-1]
    users = [rest for instruction, rest in instructions if instruction == "USER"]
    assert users, "the final stage never switches away from root (USER)"
    assert users[-1].split(":")[0] not in ("root", "0"), f"the worker runs as {users[-1]}"
    runs = [rest for instruction, rest in instructions if instruction in ("CMD", "ENTRYPOINT")]
    assert runs, "the final stage has no CMD / ENTRYPOINT"
    command = " ".join(runs)
    assert re.search(r"python[0-9.]*\W+\W*worker\.py", command), f"CMD/ENTRYPOINT does not run worker.py: {command}"


def test_dockerfile_installs_the_project_and_ships_the_rules() -> None:
    instructions = [item for _, _, stage in _dockerfile_stages() for item in stage]
    runs = " ".join(rest for instruction, rest in instructions if instruction == "RUN")
    assert re.search(r"pip install[^&;]*\s\.(\s|$)", runs), "the image does not `pip install .` the project"
    copies = [rest for instruction, rest in instructions if instruction == "COPY"]
    assert any("pyproject.toml" in copy for copy in copies), "pyproject.toml is not copied"
    assert any(copy.split()[0].rstrip("/") == "rules" for copy in copies), "rules/ is not copied into the image"
    for package in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]:
        assert any(copy.split()[0].rstrip("/") == package for copy in copies), f"package {package}/ is not copied"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for required in (".git", ".venv", ".data", ".env", "**/__pycache__", ".pytest_cache", ".mypy_cache"):
        assert required in patterns, f".dockerignore does not exclude {required}"
    for needed in ("pyproject.toml", "rules", "worker.py", "domain", "workflows", "activities"):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the image needs"


# ---- search attributes -------------------------------------------------------------------------


def _registered_search_attributes() -> dict[str, str]:
    """NAME → TYPE as the compose file hands them to the registration script (its only copy)."""
    services = _services(_load_compose())
    registrars = [
        svc for svc in services.values() if any(REGISTER_SCRIPT in word for word in _as_list(svc.get("entrypoint")))
    ]
    assert len(registrars) == 1, f"expected one service whose entrypoint runs deploy/{REGISTER_SCRIPT}"
    registered: dict[str, str] = {}
    for word in _as_list(registrars[0].get("command")):
        match = _NAME_TYPE.match(word)
        assert match, f"search attribute argument {word!r} is not NAME=TYPE"
        assert match.group("name") not in registered, f"{match.group('name')} is registered twice"
        registered[match.group("name")] = match.group("type")
    return registered


def test_compose_registers_exactly_the_code_search_attributes_with_their_types() -> None:
    assert _registered_search_attributes() == SEARCH_ATTRIBUTES


def test_registration_runs_in_admin_tools_with_the_script_mounted() -> None:
    services = _services(_load_compose())
    _, tools = _find_service(services, "temporalio/admin-tools:")
    entrypoint = _as_list(tools.get("entrypoint"))
    script_in_container = next(word for word in entrypoint if word.endswith(REGISTER_SCRIPT))
    mounts = [str(v).split(":") for v in tools.get("volumes", [])]
    assert any(
        (ROOT / src).resolve() == (ROOT / "deploy").resolve() and script_in_container.startswith(dst.rstrip("/") + "/")
        for src, dst, *_ in mounts
    ), f"{script_in_container} is not mounted from ./deploy"
    script = ROOT / "deploy" / REGISTER_SCRIPT
    assert script.is_file(), f"deploy/{REGISTER_SCRIPT} is missing"
    text = script.read_text()
    assert "search-attribute create" in text, f"deploy/{REGISTER_SCRIPT} does not create search attributes"
    assert _depends_on(tools).get("temporal") == "service_healthy"


# ---- worker ------------------------------------------------------------------------------------


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_worker_builds_from_the_repo_dockerfile() -> None:
    build = _worker_service(_services(_load_compose())).get("build")
    assert build is not None, "the worker service is not built from the repo"
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    )
    assert (ROOT / context).resolve() == ROOT, f"worker build context {context!r} is not the repository root"
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_worker_command_uses_only_flags_worker_py_accepts() -> None:
    command = _as_list(_worker_service(_services(_load_compose())).get("command"))
    assert "worker.py" in command, f"the worker command does not run worker.py: {command}"
    args = [_resolve(word) for word in command[command.index("worker.py") + 1 :]]
    parser = worker.build_parser()
    accepted = _option_strings(parser)
    for word in args:
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in accepted, f"worker.py does not accept {flag} (it accepts {sorted(accepted)})"
    try:
        parsed = parser.parse_args(args)
    except SystemExit as exc:  # argparse exits on anything it cannot parse
        pytest.fail(f"worker.py rejects the compose command {args}: exit {exc.code}")
    assert parsed.address == "temporal:7233", "the worker must reach the server by its service name"


def test_worker_environment_is_read_by_the_worker() -> None:
    env = _environment(_worker_service(_services(_load_compose())))
    sources = "\n".join(path.read_text() for path in ENV_READERS if path.exists())
    for name in env:
        if name.startswith(("LEADFLOW_", "TEMPORAL_")):
            assert re.search(rf"[\"']{name}[\"']", sources), (
                f"the compose file sets {name} for the worker, but neither worker.py nor "
                "activities/settings.py reads it"
            )
    assert env.get("TEMPORAL_ADDRESS") == "temporal:7233"
    for name in ("TEMPORAL_NAMESPACE", "LEADFLOW_DATA_DIR"):
        assert name in env, f"the worker environment does not set {name}"


def test_worker_flags_and_environment_agree() -> None:
    service = _worker_service(_services(_load_compose()))
    command = _as_list(service.get("command"))
    parsed = worker.build_parser().parse_args([_resolve(w) for w in command[command.index("worker.py") + 1 :]])
    env = {key: _resolve(value) for key, value in _environment(service).items()}
    for flag_dest, env_name in (
        ("address", "TEMPORAL_ADDRESS"),
        ("namespace", "TEMPORAL_NAMESPACE"),
        ("task_queue", "LEADFLOW_TASK_QUEUE"),
        ("data_dir", "LEADFLOW_DATA_DIR"),
    ):
        if env_name in env:
            assert getattr(parsed, flag_dest) == env[env_name], f"--{flag_dest} and {env_name} disagree"


def test_worker_data_dir_is_a_shared_named_volume() -> None:
    compose = _load_compose()
    service = _worker_service(_services(compose))
    data_dir = _resolve(_environment(service)["LEADFLOW_DATA_DIR"])
    named = set((compose.get("volumes") or {}).keys())
    mounts = [str(v).split(":") for v in service.get("volumes", [])]
    assert any(src in named and dst == data_dir for src, dst, *_ in mounts), (
        f"LEADFLOW_DATA_DIR={data_dir} is not on a named volume shared by the worker replicas"
    )


def test_worker_is_scalable() -> None:
    service = _worker_service(_services(_load_compose()))
    replicas = (service.get("deploy") or {}).get("replicas")
    assert isinstance(replicas, int) and replicas >= 1, "the worker has no deploy.replicas"
    assert "container_name" not in service, "a fixed container_name prevents `--scale worker=N`"
    assert not service.get("ports"), "published ports on the worker would clash between replicas"


# ---- start order -------------------------------------------------------------------------------


def test_services_start_in_dependency_order() -> None:
    services = _services(_load_compose())
    postgres, _ = _find_service(services, "postgres:")
    temporal, server = _find_service(services, "temporalio/auto-setup:")
    tools, _ = _find_service(services, "temporalio/admin-tools:")
    ui, ui_service = _find_service(services, "temporalio/ui:")

    assert "healthcheck" in services[postgres], "postgres needs a healthcheck for temporal to wait on"
    assert "healthcheck" in server, "temporal needs a healthcheck for its dependants to wait on"
    assert _depends_on(server).get(postgres) == "service_healthy"
    assert _depends_on(ui_service).get(temporal) == "service_healthy"
    worker_deps = _depends_on(_worker_service(services))
    assert worker_deps.get(temporal) == "service_healthy"
    assert worker_deps.get(tools) == "service_completed_successfully", (
        "workers must start only after the search attributes are registered"
    )

    # No cycles: a topological order exists.
    order: list[str] = []
    pending = {name: set(_depends_on(svc)) for name, svc in services.items()}
    while pending:
        ready = sorted(name for name, deps in pending.items() if deps <= set(order))
        assert ready, f"dependency cycle among {sorted(pending)}"
        order.extend(ready)
        for name in ready:
            del pending[name]
    assert order.index(postgres) < order.index(temporal) < order.index(tools) < order.index("worker")
    assert ui in order


def test_temporal_uses_postgres_persistence() -> None:
    services = _services(_load_compose())
    postgres, postgres_service = _find_service(services, "postgres:")
    _, server = _find_service(services, "temporalio/auto-setup:")
    env = _environment(server)
    assert env.get("DB") == "postgres12"
    assert env.get("POSTGRES_SEEDS") == postgres
    assert _resolve(env.get("POSTGRES_PWD", "")) == _resolve(_environment(postgres_service)["POSTGRES_PASSWORD"])
    assert any(str(v).split(":")[1] == "/var/lib/postgresql/data" for v in postgres_service.get("volumes", []))
