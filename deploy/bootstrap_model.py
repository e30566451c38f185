#!/usr/bin/env python3
"""Make sure a production model exists: if none, queue a synthetic training job and wait.

    VIGIL_ADMIN_TOKEN=... python deploy/bootstrap_model.py --cloud http://cloud:8000 --site demo

A fresh stack has no model, and an edge agent in `--cloud` mode cannot start without one
(edge/agent.py, `_model_from_cloud`). docker-compose.yml runs this once before the edge.
A job already queued or running is waited for rather than queued twice, so restarts are
safe. Needs only httpx (edge extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

API = "/api/v1"
WAITING = ("queued", "running")


class BootstrapError(RuntimeError):
    """No production model came out of the bootstrap; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", required=True, metavar="URL", help="cloud base URL")
    p.add_argument("--site", required=True, help="the site whose current model is checked")
    p.add_argument("--epochs", type=int, default=4, help="epochs of the bootstrap job")
    p.add_argument("--clips-per-class", type=int, default=6, help="synthetic clips per class")
    p.add_argument("--wait", type=float, default=3600.0, help="give up after this many seconds")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between status checks")
    return p.parse_args(argv)


def has_model(client: httpx.Client, site: str) -> bool:
    response = client.get(f"{API}/models/current", params={"site": site})
    if response.status_code == httpx.codes.NOT_FOUND:
        return False
    response.raise_for_status()
    return True


def pending_job(client: httpx.Client) -> str | None:
    """The newest job still queued or running, if any (a restart must not queue another)."""
    response = client.get(f"{API}/training-jobs", params={"limit": 20})
    response.raise_for_status()
    return next((job["id"] for job in response.json() if job["status"] in WAITING), None)


def queue_job(client: httpx.Client, args: argparse.Namespace) -> str:
    dataset = {"kind": "synthetic", "clips_per_class": args.clips_per_class}
    body = {"dataset": dataset, "epochs": args.epochs, "promotion": "if_better"}
    response = client.post(f"{API}/training-jobs", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def wait_for_job(client: httpx.Client, job_id: str, wait_s: float, poll_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        response = client.get(f"{API}/training-jobs/{job_id}")
        response.raise_for_status()
        job = response.json()
        if job["status"] not in WAITING:
            if job["status"] != "succeeded":
                raise BootstrapError(f"job {job_id} {job['status']}: {job.get('error')}")
            return
        time.sleep(poll_s)
    raise BootstrapError(f"job {job_id} still running after {wait_s:.0f} s")


def bootstrap(args: argparse.Namespace) -> int:
    token = os.environ.get("VIGIL_ADMIN_TOKEN", "")
    if not token:
        raise BootstrapError("VIGIL_ADMIN_TOKEN is not set")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=args.cloud, headers=headers, timeout=30) as client:
        if has_model(client, args.site):
            print(f"site {args.site} has a production model; nothing to do")
            return 0
        job_id = pending_job(client) or queue_job(client, args)
        print(f"no production model: waiting for training job {job_id}", flush=True)
        wait_for_job(client, job_id, args.wait, args.poll)
        if not has_model(client, args.site):
            raise BootstrapError(f"job {job_id} succeeded but promoted no model (see its logs)")
    print(f"site {args.site} has a production model")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return bootstrap(parse_args(argv))
    except (BootstrapError, httpx.HTTPError) as exc:
        print(f"bootstrap_model: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
