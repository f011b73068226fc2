"""The report's rendering: a table that tolerates missing numbers, and a real PNG."""

from __future__ import annotations

from jobs.report import AlgorithmReport, render_table, write_chart

REPORTS = [
    AlgorithmReport("bm25", 6, 0.6, 4, 0.5, 0.2, 90.0, 150.0, 300.0),
    AlgorithmReport("tfidf", 4, 0.4, 0, None, None, 80.0, 120.0, 120.0),
]


def test_the_table_has_one_row_per_algorithm_and_dashes_for_unknowns():
    lines = render_table(REPORTS).splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["bm25", "tfidf"]
    assert "+0.500 ± 0.200" in lines[2]
    assert lines[3].split()[:5] == ["tfidf", "4", "40.0%", "0", "-"]


def test_the_chart_is_a_png(tmp_path):
    for reports in (REPORTS, []):
        data = write_chart(reports, tmp_path / "chart.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
