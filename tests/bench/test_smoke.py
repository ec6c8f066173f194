"""The benchmark tools work: generate a tiny district, run the cockpit benchmark on it.

No time is asserted (benchmarks are run by hand, see bench/README.md); this only keeps the tools
from rotting as the schema changes.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench import cockpit, generate


def test_generate_and_measure_a_tiny_district(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'district.sqlite3'}"
    counts = generate.generate(url, scale=0.002, seed=7)
    assert counts["lead"] == counts["project"] == 200
    assert counts["contact_log"] == 2000
    engine = create_engine(url)
    with engine.connect() as conn:
        # Stored dates agree with the history and the contact log.
        mismatched = conn.scalar(
            text(
                "SELECT count(*) FROM lead WHERE last_contact_on IS NOT "
                "(SELECT max(contact_on) FROM contact_log WHERE contact_log.lead_id = lead.id)"
            )
        )
        assert mismatched == 0
        stages = conn.scalar(
            text(
                "SELECT count(*) FROM project WHERE stage IS NOT (SELECT to_stage FROM "
                "stage_change WHERE project_id = project.id ORDER BY id DESC LIMIT 1)"
            )
        )
        assert stages == 0
        assert conn.scalar(select(func.count()).select_from(text("stage_change"))) > 400
    engine.dispose()

    out = tmp_path / "results"
    cockpit.main(["--database-url", url, "--runs", "1", "--output", str(out)])
    (result,) = out.glob("cockpit-*-sqlite.md")
    table = result.read_text(encoding="utf-8")
    assert "| GET /cockpit/ (leader) |" in table and "200 projects" in table
