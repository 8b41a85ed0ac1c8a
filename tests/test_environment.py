"""environment.yml (conda) and requirements.txt (pip) carry the same exact pins."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def requirement_pins():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {p for p in pip if not p.startswith("-")}


def test_every_requirement_is_pinned_exactly():
    pins = requirement_pins()
    assert pins and all("==" in p for p in pins), pins
    assert any(p.startswith("torch==") for p in pins)


def test_environment_yml_matches_requirements():
    assert conda_pins() == requirement_pins()


def test_constraints_agree_with_requirements():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    frozen = dict(line.lower().split("==", 1) for line in lines if "==" in line)
    for pin in requirement_pins():
        name, version = pin.lower().split("==")
        if name in frozen:
            assert frozen[name] == version, f"{name}: requirements {version}, constraints {frozen[name]}"


def student_pins():
    lines = (ROOT / "requirements-student.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))}


def test_student_environment_is_the_notebooks_needs_with_the_course_pins():
    env = yaml.safe_load((ROOT / "environment-student.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert {p for p in pip if not p.startswith("-")} == student_pins()
    frozen = {line.lower() for line in (ROOT / "constraints.txt").read_text().splitlines()}
    assert {p for p in student_pins() if not p.startswith("torch==")} <= frozen
    assert "torch==2.13.0" in student_pins() and "torch==2.13.0" in requirement_pins()
    for grading_tool in ("nbgrader", "dask", "distributed", "pytest", "ruff", "copydetect",
                         "playwright"):
        assert not [p for p in student_pins() if p.lower().startswith(grading_tool + "==")]
    cpu_index = "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert cpu_index in (ROOT / "requirements-student.txt").read_text().splitlines()
    assert cpu_index in pip
