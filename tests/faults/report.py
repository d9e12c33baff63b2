"""Run every fault scenario many times over HTTP and print the tables in docs/reliability.md.

    python -m tests.faults.report --runs 20
    python -m tests.faults.report --runs 10 --mode async   # the async clients

With ``--mode async`` the scenarios run the async clients (aiobotocore), and the kill runs
alternate sync and async workers under one job key (sync killed, async killed, async
finishes); the sequences of runs are left out (they drive the sync clients).
"""

from __future__ import annotations

import argparse
import logging
import pathlib
import random
import tempfile
import time

from connect_batch.testing import dummy_credentials, moto_server
from tests.faults import campaign_harness
from tests.faults.harness import SCENARIOS, Report, kill_and_rerun, run
from tests.faults.identity_sequences import JOB_SEQUENCES, JobReport, run_job_sequence
from tests.faults.sequences import SEQUENCES, SequenceReport, run_sequence

KILL_RUNS_SHARE = 2  # kill scenarios are slower; run half as many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="runs per scenario")
    parser.add_argument("--mode", choices=["sync", "async"], default="sync")
    args = parser.parse_args()
    mode = args.mode
    # The kill runs: every worker sync; or killed sync, killed async, finished async.
    modes = ("sync",) if mode == "sync" else ("sync", "async", "async")
    logging.getLogger("connect_batch").setLevel(logging.ERROR)
    rows: list[tuple[str, str, list[Report]]] = []
    started = time.monotonic()
    with moto_server() as endpoint, dummy_credentials():
        for scenario in SCENARIOS:
            reports = [run(scenario, endpoint, seed, mode) for seed in range(args.runs)]
            rows.append((scenario.name, scenario.description, reports))
        rng = random.Random(0)
        with tempfile.TemporaryDirectory() as folder:
            out = pathlib.Path(folder) / "result.json"
            kills = [
                kill_and_rerun(
                    endpoint, (rng.uniform(0, 0.45), rng.uniform(0, 0.45)), out, modes
                )
                for _ in range(max(1, args.runs // KILL_RUNS_SHARE))
            ]
        rows.append(
            ("process killed", "SIGKILL twice at random points, then rerun", kills)
        )
        campaign_rows = _campaign_rows(endpoint, args.runs, mode, modes)
        sequences: list[tuple[str, str, list[SequenceReport]]] = [
            (sequence.name, sequence.description,
             [run_sequence(sequence, endpoint, seed) for seed in range(args.runs)])
            for sequence in SEQUENCES
        ] if mode == "sync" else []
        jobs: list[tuple[str, str, list[JobReport]]] = [
            (sequence.name, sequence.description,
             [run_job_sequence(sequence, endpoint, seed) for seed in range(args.runs)])
            for sequence in JOB_SEQUENCES
        ] if mode == "sync" else []
    _print_matrix(rows, "fault", 6)
    print()
    _print_matrix(
        campaign_rows, "API: fault", campaign_harness.MAX_ATTEMPTS_PER_TOKEN, unit="requests",
        kill_bound=campaign_harness.WORKER_MAX_ATTEMPTS_PER_TOKEN,
    )
    if not sequences:
        print(f"\n{time.monotonic() - started:.0f} s")
        return
    print("\n| sequence | what happens | runs | contacts | created | duplicates | lost "
          "| retryable but created | settled at the end |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, description, reports in sequences:
        print(
            f"| {name} | {description} | {len(reports)} | {sum(r.inputs for r in reports)} | "
            f"{sum(r.created for r in reports)} | {sum(r.duplicates for r in reports)} | "
            f"{sum(r.lost for r in reports)} | {sum(r.unsafe_retryable for r in reports)} | "
            f"{'yes' if all(r.settled for r in reports) else 'NO'} |"
        )
    print("\n| campaign job | what happens | runs | requests | created | created twice "
          "| false ids | lost | retryable but created | answered once | settled at the end |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, description, job_reports in jobs:
        print(
            f"| {name} | {description} | {len(job_reports)} | "
            f"{sum(r.requests for r in job_reports)} | {sum(r.created for r in job_reports)} | "
            f"{sum(r.twice for r in job_reports)} | {sum(r.false_ids for r in job_reports)} | "
            f"{sum(r.lost for r in job_reports)} | "
            f"{sum(r.unsafe_retryable for r in job_reports)} | "
            f"{'yes' if all(r.answered_once for r in job_reports) else 'NO'} | "
            f"{'yes' if all(r.settled for r in job_reports) else 'NO'} |"
        )
    print(f"\n{time.monotonic() - started:.0f} s")


def _campaign_rows(
    endpoint: str, runs: int, mode: str, modes: tuple[str, ...]
) -> list[tuple[str, str, list[Report]]]:
    rows: list[tuple[str, str, list[Report]]] = []
    rng = random.Random(1)
    for api in campaign_harness.APIS:
        for scenario in campaign_harness.SCENARIOS:
            reports = [
                campaign_harness.run(api, scenario, endpoint, seed, mode) for seed in range(runs)
            ]
            rows.append((f"{api}: {scenario.name}", scenario.description, reports))
        with tempfile.TemporaryDirectory() as folder:
            out = pathlib.Path(folder) / "result.json"
            kills = [
                campaign_harness.kill_and_rerun(
                    api, endpoint, (rng.uniform(0, 0.45), rng.uniform(0, 0.45)), out, modes
                )
                for _ in range(max(1, runs // KILL_RUNS_SHARE))
            ]
        rows.append((f"{api}: process killed", "SIGKILL twice at random points, then rerun",
                     kills))
    return rows


def _print_matrix(
    rows: list[tuple[str, str, list[Report]]],
    first: str,
    bound: int,
    unit: str = "contacts",
    kill_bound: int | None = None,
) -> None:
    print(f"| {first} | what happens | runs | {unit} | created | succeeded | unknown, created "
          "| duplicates | lost | answered once | attempts/token ≤ max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, description, reports in rows:
        limit = kill_bound if kill_bound is not None and "killed" in name else bound
        print(
            f"| {name} | {description} | {len(reports)} | {sum(r.inputs for r in reports)} | "
            f"{sum(r.created for r in reports)} | {sum(r.succeeded for r in reports)} | "
            f"{sum(r.unknown_created for r in reports)} | {sum(r.duplicates for r in reports)} | "
            f"{sum(r.lost for r in reports)} | "
            f"{'yes' if all(r.answered_once for r in reports) else 'NO'} | "
            f"{'yes' if all(r.max_attempts_per_token <= limit for r in reports) else 'NO'} |"
        )


if __name__ == "__main__":
    main()
