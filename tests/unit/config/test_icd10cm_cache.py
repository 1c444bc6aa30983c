"""The built ICD-10-CM table is kept in the cache folder, read back whole or built again, never an error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import icd10cm, icd10cm_cache
from config.icd10cm_table import CodeTable, CorruptTable

SMALL = {"M54": (False, "Dorsalgia"), "M54.50": (True, "Low back pain, unspecified"),
         "S13.4XXA": (True, "Sprain of ligaments of cervical spine, initial encounter"),
         "A00-A09": (False, "Intestinal infectious diseases (A00-A09)"), "1": (False, "Certain infectious diseases"),
         "Z99.89": (True, "Dependence on other enabling machines and devices – café")}


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of the library's two data files, whose identity a test may change."""
    folder = tmp_path / "data"
    folder.mkdir()
    return tuple(Path(shutil.copy2(f, folder)) for f in icd10cm.data_files())  # type: ignore[return-value]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, Path]]:
    """Every build from the XML, answered with a small table."""
    calls: list[tuple[Path, Path]] = []

    def small_build(code_list: Path, tabular: Path) -> dict[str, tuple[bool, str]]:
        calls.append((code_list, tabular))
        return dict(SMALL)

    monkeypatch.setattr(icd10cm, "build", small_build)
    return calls


def _kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("icd10cm-*.table"))


def test_the_table_read_from_the_cache_equals_the_one_built_from_the_library(tmp_path: Path) -> None:
    files = icd10cm.data_files()
    built = icd10cm.load(tmp_path, *files)
    assert len(_kept(tmp_path)) == 1
    read = icd10cm.load(tmp_path, *files)
    fresh = icd10cm.build(*files)
    assert len(read) == len(fresh) > 90_000
    assert dict(read.items()) == fresh
    assert dict(built.items()) == fresh


def test_a_second_load_reads_the_file_instead_of_building(tmp_path: Path, sources, builds) -> None:  # type: ignore[no-untyped-def]
    first = icd10cm.load(tmp_path, *sources)
    second = icd10cm.load(tmp_path, *sources)
    assert len(builds) == 1
    assert dict(first.items()) == dict(second.items()) == SMALL
    assert second.get("M54.50") == (True, "Low back pain, unspecified")
    assert second["Z99.89"][1].endswith("café")
    assert not list(tmp_path.glob(".icd10cm-*"))  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "flipped byte", "other identity"])
def test_a_damaged_file_is_built_again_and_replaced(tmp_path: Path, sources, builds, damage: str) -> None:  # type: ignore[no-untyped-def]
    icd10cm.load(tmp_path, *sources)
    [kept] = _kept(tmp_path)
    data = kept.read_bytes()
    if damage == "truncated":
        kept.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        kept.write_bytes(b"")
    elif damage == "garbage":
        kept.write_bytes(b"not a table at all")
    elif damage == "flipped byte":
        at = data.index(b"Low back")
        kept.write_bytes(data[:at] + b"X" + data[at + 1:])
    else:
        kept.write_bytes(CodeTable.of({"M54": (True, "wrong")}).to_bytes("another source"))
    table = icd10cm.load(tmp_path, *sources)
    assert len(builds) == 2
    assert dict(table.items()) == SMALL
    assert dict(icd10cm.load(tmp_path, *sources).items()) == SMALL
    assert len(builds) == 2  # the replaced file is whole again


def test_a_folder_that_cannot_be_written_leaves_the_table_in_memory(tmp_path: Path, sources, builds) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    folder = blocker / "cache"
    assert dict(icd10cm.load(folder, *sources).items()) == SMALL
    assert dict(icd10cm.load(folder, *sources).items()) == SMALL
    assert len(builds) == 2
    assert blocker.read_text() == "a file where the cache folder would be"


def test_a_file_that_cannot_be_put_in_place_leaves_no_temporary_file(
        tmp_path: Path, sources, builds, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def read_only_file_system(*_: object) -> None:
        raise OSError(30, "Read-only file system")

    folder = tmp_path / "cache"
    with monkeypatch.context() as patched:
        patched.setattr(icd10cm_cache.os, "replace", read_only_file_system)
        assert dict(icd10cm.load(folder, *sources).items()) == SMALL
    assert list(folder.iterdir()) == []
    icd10cm.load(folder, *sources)
    icd10cm.load(folder, *sources)
    assert len(builds) == 2 and len(_kept(folder)) == 1


def test_changed_source_files_build_a_new_table(tmp_path: Path, sources, builds) -> None:  # type: ignore[no-untyped-def]
    code_list, tabular = sources
    icd10cm.load(tmp_path, *sources)
    icd10cm.load(tmp_path, *sources)
    assert len(builds) == 1
    stat = tabular.stat()
    os.utime(tabular, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a reinstalled library
    icd10cm.load(tmp_path, *sources)
    assert len(builds) == 2
    with code_list.open("a", encoding="utf-8") as out:
        out.write("Z99.99 A code of a newer release\n")
    os.utime(code_list, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time, another size
    icd10cm.load(tmp_path, *sources)
    assert len(builds) == 3
    assert len(_kept(tmp_path)) == 3


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_build_removes_the_cache_files_nobody_used_for_a_week_and_nothing_else(
        tmp_path: Path, sources, builds) -> None:  # type: ignore[no-untyped-def]
    week = icd10cm_cache.KEEP_UNUSED_S
    stale = tmp_path / ("icd10cm-" + "a" * 24 + ".table")  # a library version installed over
    stale.write_bytes(CodeTable.of(SMALL).to_bytes("an older library"))
    _age(stale, week + 3600)
    abandoned = tmp_path / ".icd10cm-k3j_9x2q.tmp"  # a writer that stopped midway
    abandoned.write_bytes(b"half a table")
    _age(abandoned, week + 3600)
    in_use = tmp_path / ("icd10cm-" + "b" * 24 + ".table")  # another install's, read two days ago
    in_use.write_bytes(b"x")
    _age(in_use, 2 * 86400)
    writing = tmp_path / ".icd10cm-abcdefgh.tmp"  # another process writing its table right now
    writing.write_bytes(b"being written")
    unrelated = [tmp_path / "notes.txt", tmp_path / ("icd10cm-" + "c" * 23 + ".table"), tmp_path / "icd10cm.table",
                 tmp_path / ("icd10cm-" + "d" * 24 + ".table.bak")]
    for other in unrelated:
        other.write_text("not the cache's")
        _age(other, 10 * week)
    icd10cm.load(tmp_path, *sources)
    assert len(builds) == 1
    assert not stale.exists() and not abandoned.exists()
    assert in_use.exists() and writing.exists() and all(other.exists() for other in unrelated)
    [new] = [p for p in _kept(tmp_path) if p != in_use and p not in unrelated]
    _age(new, week + 3600)  # the table this install reads is marked used when it is read, so it is kept
    icd10cm.load(tmp_path, *sources)
    assert len(builds) == 1 and time.time() - new.stat().st_mtime < 60
    assert icd10cm_cache.prune(tmp_path, tmp_path / "none", now=time.time()) == []


def test_a_cache_file_removed_meanwhile_by_another_process_is_no_error(tmp_path: Path) -> None:
    gone = tmp_path / ("icd10cm-" + "e" * 24 + ".table")
    gone.write_bytes(b"x")
    _age(gone, icd10cm_cache.KEEP_UNUSED_S + 60)
    real_unlink = os.unlink

    def raced(path: str) -> None:  # another process removes it between the listing and this unlink
        real_unlink(path)
        real_unlink(path)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(icd10cm_cache.os, "unlink", raced)
        assert icd10cm_cache.prune(tmp_path, tmp_path / "kept") == []
    assert not gone.exists()
    assert icd10cm_cache.prune(tmp_path / "no such folder", tmp_path / "kept") == []


def test_a_new_library_version_changes_the_identity(tmp_path: Path) -> None:
    site = tmp_path / "site"
    data = site / "simple_icd_10_cm" / "data"
    data.mkdir(parents=True)
    files = (data / "code-list.txt", data / "tabular.xml")
    for f in files:
        f.write_text("x")
    (site / "simple_icd_10_cm-1.5.0.dist-info").mkdir()
    before = icd10cm_cache.identity(files, ())
    (site / "simple_icd_10_cm-1.5.0.dist-info").rename(site / "simple_icd_10_cm-1.6.0.dist-info")
    assert icd10cm_cache.identity(files, ()) != before


def test_lookups_outside_the_table_find_nothing() -> None:
    table = CodeTable.of(SMALL)
    for absent in ["", "M5", "M54.5", "M54.500", "M54 ", " M54", "1 ", "S13.4XXAX", "M54.50\u00e9", "A", "Z"]:
        assert absent not in table
        assert table.get(absent) is None
        with pytest.raises(KeyError):
            table[absent]
    assert sorted(table) == sorted(SMALL)
    assert all(table[code] == entry for code, entry in SMALL.items())


def test_a_table_of_another_format_is_refused() -> None:
    data = CodeTable.of(SMALL).to_bytes("source")
    assert dict(CodeTable.from_bytes(data, "source").items()) == SMALL
    for bad in [data[:-1], data[:10], b"", data.replace(b"ICD10CM-TABLE/1", b"ICD10CM-TABLE/0"), data + b"x"]:
        with pytest.raises(CorruptTable):
            CodeTable.from_bytes(bad, "source")


def test_processes_starting_at_once_each_get_the_whole_table_and_leave_one_file(tmp_path: Path) -> None:
    script = ("from pipeline.domain import diagnoses; from config import icd10cm; "
              "print(diagnoses.classify('S13.4XXA'), diagnoses.describe('M5450'), len(icd10cm.TABLE), sep='|')")
    env = {**os.environ, "SUPERBILL_HOME": str(tmp_path)}
    started = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=180) for p in started]
    assert [p.returncode for p in started] == [0, 0, 0], results
    answers = {out.strip() for out, _ in results}
    assert len(answers) == 1
    status, description, count = answers.pop().split("|")
    assert (status, description) == ("billable", "Low back pain, unspecified") and int(count) > 90_000
    assert len(_kept(tmp_path / "cache")) == 1
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [p.name for p in _kept(tmp_path / "cache")]
