"""Timing of the ethics grid against baselines measured in the same run.

Run from the repository root: ``.venv/bin/python -m bench.ethics``. Each line prints
``name: value baseline ratio target``; ratios carry over between machines, seconds do not.
The script exits non-zero when a target is missed. Timings are the best of a few repeats.

- scoring a full, reviewed 44-criterion assessment in the pure library, against parsing the
  grid YAML once (the cost every process pays at start);
- the ethics gate facts of a device with a submitted, reviewed assessment, against the rest of
  its gate context (what a gate check costs without ethics), on a SQLite registry.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import ethics_grid
from ethics_grid import Answer, EvidenceRef, Review


def best(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def report(name: str, value: float, baseline: float, target: float) -> bool:
    ratio = value / baseline
    ok = ratio <= target
    print(f"{name}: {value * 1000:.2f} ms baseline {baseline * 1000:.2f} ms ratio {ratio:.2f} "
          f"target <= {target} {'ok' if ok else 'MISSED'}")
    return ok


def library() -> bool:
    text = resources.files("ethics_grid").joinpath("grid_v3.yaml").read_text(encoding="utf-8")
    grid = ethics_grid.parse_grid_yaml(text)
    answers = {c.id: Answer(2, "x", (EvidenceRef("link", "https://e.example"),))
               for c in grid.criteria}
    reviews = {c.id: Review("agree") for c in grid.criteria}
    parse = best(lambda: ethics_grid.parse_grid_yaml(text))
    score = best(lambda: ethics_grid.score_assessment(grid, answers, reviews))
    # Scoring runs on every page view and gate check; it must stay well below a parse.
    return report("score_assessment(44 answered, reviewed)", score, parse, 0.5)


def registry() -> bool:
    from sqlmodel import select

    from registry import db, signing, storage
    from registry.migrate import upgrade
    from registry.models import Device, Role
    from registry.schemas.ethics import AnswerIn, ReviewIn
    from registry.services import devices, ethics
    from tests import factories

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        database = db.Database(url)
        storage.set_store(storage.ArtifactStore(Path(tmp) / "artifacts", 10**8))
        signing.set_signer(signing.load_or_create(Path(tmp) / "signing_key.pem"))
        with database.unit_of_work() as session:
            factories.bind(session)
            maker = factories.actor_for(Role.manufacturer)
            device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
            reviewer = factories.actor_for(Role.reviewer)
            factories.grant(session, device, reviewer.organisation_id)
            for criterion in ethics.get_grid().criteria:
                ethics.save_answer(session, maker, device.code, criterion.id, AnswerIn(
                    maturity=2, evidence=[{"kind": "link", "ref": "https://e.example"}]))
            ethics.submit_assessment(session, maker, device.code)
            for criterion in ethics.get_grid().criteria:
                ethics.review_criterion(session, reviewer, device.code, criterion.id,
                                        ReviewIn(verdict="agree"))
            code = device.code
        with database.unit_of_work() as session:
            device = session.exec(select(Device).where(Device.code == code)).first()
            facts = best(lambda: ethics.gate_facts(session, device, None, set()))
            context = best(lambda: devices.gate_context(session, device))
        database.engine.dispose()
    # The whole gate context includes the ethics facts; they may take most of it but the
    # comparison keeps a regression (e.g. a query per criterion) visible.
    return report("ethics gate_facts (44 answers, 44 reviews)", facts, context, 1.0)


if __name__ == "__main__":
    results = [library(), registry()]
    sys.exit(0 if all(results) else 1)
