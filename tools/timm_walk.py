"""Walk every timm model (or those named) through `tests.frontends.timm_check`: output
stride against timm's declared reduction, and the doctor at the model's published size.
Results go to a JSON-lines file, one model per line, so a walk that stops resumes where
it was; the summary counts agreements, lists every skip with its reason, every
disagreement, every doctor error, and the warnings by rule with the models that get them.

    python tools/timm_walk.py --out walk.jsonl              # the whole zoo, 2 processes
    python tools/timm_walk.py --out walk.jsonl resnet50 swin_tiny_patch4_window7_224
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _one(name: str) -> dict:
    from tests.frontends.timm_check import check

    try:
        return asdict(check(name))
    except Exception as error:  # a crash is a finding of the walk, not its end
        return {"name": name, "status": "crash", "why": f"{type(error).__name__}: {error}"}


def summary(records: list[dict]) -> str:
    by_status: dict[str, list[dict]] = defaultdict(list)
    warnings: dict[str, list[str]] = defaultdict(list)
    errors = []
    for record in records:
        by_status[record["status"]].append(record)
        for severity, code, node, message in record.get("findings", []):
            if severity == "error":
                errors.append(f"{record['name']}: {code} at {node}: {message}")
            else:
                warnings[code].append(f"{record['name']} ({node})")
    lines = [", ".join(f"{len(v)} {k}" for k, v in sorted(by_status.items()))]
    for status in ("disagree", "crash", "skip"):
        for record in by_status.get(status, []):
            why = record.get("why") or record.get("strides")
            lines.append(f"{status}: {record['name']}: {why}")
    lines += [f"error: {e}" for e in errors]
    for code, models in sorted(warnings.items()):
        lines.append(f"warning {code} ({len(models)}): {', '.join(models)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="timm model names (default: every model)")
    parser.add_argument("--out", type=Path, default=Path("timm_walk.jsonl"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import timm

    names = args.names or sorted(timm.list_models())
    done: dict[str, dict] = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            record = json.loads(line)
            done[record["name"]] = record
    todo = [n for n in names if n not in done]
    print(f"{len(done)} done, {len(todo)} to go", file=sys.stderr)
    # fresh worker processes every 20 models (memory); multiprocessing's Pool, since
    # Python 3.11's ProcessPoolExecutor hangs when max_tasks_per_child replaces a worker
    with (
        args.out.open("a") as out,
        get_context("spawn").Pool(args.workers, maxtasksperchild=20) as pool,
    ):
        for i, record in enumerate(pool.imap_unordered(_one, todo), 1):
            done[record["name"]] = record
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(f"[{i}/{len(todo)}] {record['name']}: {record['status']}", file=sys.stderr)
    print(summary([done[n] for n in names if n in done]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
