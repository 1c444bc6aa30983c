"""The compact ICD-10-CM table gives the library's verdicts for every code the library knows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pytest

from pipeline.domain.diagnoses import DiagnosisStatus, classify, describe


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm

    return simple_icd_10_cm


def _library_verdict(icd, code: str) -> tuple[DiagnosisStatus, str]:  # type: ignore[no-untyped-def]
    if not icd.is_valid_item(code):
        return DiagnosisStatus.INVALID, ""
    status = DiagnosisStatus.BILLABLE if icd.is_leaf(code) else DiagnosisStatus.NOT_BILLABLE
    return status, str(icd.get_description(code))


def test_every_code_of_the_library_has_the_same_status_and_description(library) -> None:  # type: ignore[no-untyped-def]
    names = list(library.simple_icd_10_cm._code_to_node)
    assert len(names) > 90_000
    spellings = set(names) | {n.replace(".", "") for n in names}
    # codes that are not in the set: a leaf with one more character, a category with a bogus subcode
    spellings |= {n + "9" for n in names[::50]} | {n[:3] + ".Z" for n in names[::50]} | {"", "Z99.99", "M54.599"}
    differences = [
        (code, (classify(code), describe(code)), _library_verdict(library, code))
        for code in sorted(spellings)
        if (classify(code), describe(code)) != _library_verdict(library, code.strip().upper())
    ]
    assert differences == []
    statuses = {classify(n) for n in names}
    assert statuses == {DiagnosisStatus.BILLABLE, DiagnosisStatus.NOT_BILLABLE}


def test_concurrent_first_calls_build_the_table_once_then_read_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = textwrap.dedent(
        """
        import threading
        import xml.etree.ElementTree as ET

        parses = []
        real_iterparse = ET.iterparse

        def counting_iterparse(*args, **kwargs):
            parses.append(1)
            return real_iterparse(*args, **kwargs)

        ET.iterparse = counting_iterparse
        from pipeline.domain import diagnoses

        barrier = threading.Barrier(8)
        results = []

        def judge():
            barrier.wait()
            results.append((diagnoses.classify("S13.4XXA"), id(diagnoses._table())))

        threads = [threading.Thread(target=judge) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(parses), len(results), len(set(results)), results[0][0])
        """
    )
    env = {**os.environ, "SUPERBILL_HOME": str(tmp_path)}
    cold = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
                          env=env)
    assert cold.stdout.split() == ["1", "8", "1", "billable"]
    assert len(list((tmp_path / "cache").glob("icd10cm-*.table"))) == 1
    warm = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
                          env=env)
    assert warm.stdout.split() == ["0", "8", "1", "billable"]
