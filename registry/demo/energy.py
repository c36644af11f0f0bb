"""Demo data: training and inference footprints declared by the demo manufacturers (#8).

Validation and monitoring jobs of the demo book their own, measured footprints; the figures
below stand for what manufacturers declare, one of them through a CodeCarbon emissions.csv.
"""

from __future__ import annotations

import io

from sqlmodel import Session

from registry.models import Stage
from registry.schemas.energy import FootprintImportIn, FootprintIn
from registry.services import devices, energy

# France's grid: about 56 g CO2e per kWh (CodeCarbon's figure for FRA).
FRANCE_KG_PER_KWH = 0.056


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Nothing to do per stage: footprints do not gate the lifecycle."""


def after_seed(session: Session, demos: list) -> None:
    for index, demo in enumerate(demos):
        device = devices.get_device(session, demo.maker, demo.code)
        for version in devices.versions_of(session, device):
            training_kwh = 40.0 + 55.0 * index
            if index == 0:
                _import_training_csv(session, demo, version.id, training_kwh)
            else:
                energy.declare_footprint(session, demo.maker, demo.code, version.id, FootprintIn(
                    phase="training", energy_kwh=training_kwh,
                    emissions_kg=round(training_kwh * FRANCE_KG_PER_KWH, 3),
                    duration_s=training_kwh * 900, country="FRA",
                    hardware="1 x NVIDIA A100 40GB, 32 vCPU", method="CodeCarbon 3.3 (declared)"))
            per_run_kwh = 0.0021 + 0.0004 * index
            energy.declare_footprint(session, demo.maker, demo.code, version.id, FootprintIn(
                phase="inference", energy_kwh=per_run_kwh,
                emissions_kg=round(per_run_kwh * FRANCE_KG_PER_KWH, 6), predictions=1000,
                country="FRA", hardware="8 vCPU inference server",
                note="1,000 predictions on the reference inference server"))


def _import_training_csv(session: Session, demo, version_id: int, kwh: float) -> None:
    rows = [
        "timestamp,project_name,duration,emissions,energy_consumed,cpu_energy,gpu_energy,"
        "ram_energy,country_iso_code,cpu_model,tracking_mode",
    ]
    for run in range(3):
        part = kwh / 3
        rows.append(f"2025-0{run + 3}-10T09:00:00,training,{part * 900:.0f},"
                    f"{part * FRANCE_KG_PER_KWH:.4f},{part:.3f},{part * 0.2:.3f},{part * 0.7:.3f},"
                    f"{part * 0.1:.3f},FRA,AMD EPYC 7763,machine")
    energy.import_codecarbon(session, demo.maker, demo.code, version_id,
                             io.BytesIO("\n".join(rows).encode()), "emissions.csv",
                             FootprintImportIn(phase="training"))
