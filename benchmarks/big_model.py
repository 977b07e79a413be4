"""A model bigger than the analysis needs: ViT-H/14 (632M parameters, 2.5 GB of weights).

Each measurement runs in its own fresh interpreter, all in one run, so each peak RSS
(``os.wait4``'s ``ru_maxrss`` of that child) and wall time is its own:

- baselines: ``python -c 'import torch'``, and ``import torch, timm`` (the zoo's own
  import cost, which a ``timm:`` reference cannot avoid);
- stridekit: ``analyze("timm:vit_huge_patch14_224")``: the reference is built with its
  parameters on the meta device (no weight allocated or initialised) and traced on meta
  tensors;
- stridekit on a module built normally by ``timm.create_model`` (what the meta build saves);
- torchinfo: ``torchinfo.summary(model, input_size=(1, 3, 224, 224))`` on the module built
  normally (it needs real weights: it runs a real forward pass).

Times are build + analysis, measured inside each child after its imports (torch, timm,
stridekit, torchinfo). Printed as ratios stridekit / torchinfo (targets: ≤ 0.35 of the
peak RSS, most of which is the imports; ≤ 0.05 of the memory above the imports; ≤ 0.1 of
the time) and the stridekit peak above the import baselines (targets: ≤ 100 MB above
``import torch, timm``; ≤ 300 MB above ``import torch``, importing timm being ~200 MB).

    python benchmarks/big_model.py [--model vit_huge_patch14_224] [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# each child prints one JSON line: {"seconds": build + analysis, "params": ..., ...}
CHILDREN = {
    "import torch": "import torch\nresult = {}",
    "import torch, timm": "import torch, timm\nresult = {}",
    "stridekit": """
        import time, warnings
        warnings.filterwarnings("ignore")
        import timm  # imported before the clock starts, as in the other children
        import stridekit.frontends.resolve, stridekit.frontends.torch
        from stridekit.analysis import analyze
        start = time.perf_counter()
        analysis = analyze("timm:MODEL", None)
        result = {"seconds": time.perf_counter() - start,
                  "params": analysis.declared_params, "macs": analysis.total_macs}
    """,
    "stridekit, module built normally": """
        import time, warnings
        warnings.filterwarnings("ignore")
        import timm
        from stridekit.analysis import analyze
        start = time.perf_counter()
        model = timm.create_model("MODEL")
        analysis = analyze(model, (1, *model.pretrained_cfg["input_size"]))
        result = {"seconds": time.perf_counter() - start,
                  "params": analysis.declared_params, "macs": analysis.total_macs}
    """,
    "torchinfo": """
        import time, warnings
        warnings.filterwarnings("ignore")
        import timm, torchinfo
        start = time.perf_counter()
        model = timm.create_model("MODEL")
        stats = torchinfo.summary(
            model, input_size=(1, *model.pretrained_cfg["input_size"]), verbose=0
        )
        result = {"seconds": time.perf_counter() - start,
                  "params": stats.total_params, "macs": stats.total_mult_adds}
    """,
}


def run_child(code: str, model: str) -> dict[str, float]:
    """Run one child; its own peak RSS comes from the kernel (``wait4``), in MB."""
    source = textwrap.dedent(code).replace("MODEL", model) + "\nprint(json.dumps(result))"
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", "import json\n" + source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    output, errors = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"child failed ({child.returncode}):\n{errors}")
    result = json.loads(output.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def report(results: dict[str, dict[str, float]]) -> dict[str, dict[str, float | bool]]:
    ours, theirs = results["stridekit"], results["torchinfo"]
    built = results["stridekit, module built normally"]
    torch_only = results["import torch"]["peak_rss_mb"]
    baseline = results["import torch, timm"]["peak_rss_mb"]
    rows = {
        "peak RSS stridekit / torchinfo": (ours["peak_rss_mb"] / theirs["peak_rss_mb"], 0.35),
        "peak RSS above import torch, timm: stridekit / torchinfo": (
            (ours["peak_rss_mb"] - baseline) / (theirs["peak_rss_mb"] - baseline),
            0.05,
        ),
        "stridekit peak RSS − import torch, timm (MB)": (ours["peak_rss_mb"] - baseline, 100),
        "stridekit peak RSS − import torch (MB)": (ours["peak_rss_mb"] - torch_only, 300),
        "time stridekit / torchinfo": (ours["seconds"] / theirs["seconds"], 0.1),
        "time stridekit / stridekit on a module built normally": (
            ours["seconds"] / built["seconds"],
            0.1,
        ),
    }
    return {
        name: {"value": round(value, 3), "target": target, "met": value <= target}
        for name, (value, target) in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vit_huge_patch14_224", help="a timm model name")
    parser.add_argument("--format", choices=("human", "json"), default="human")
    args = parser.parse_args()
    results = {name: run_child(code, args.model) for name, code in CHILDREN.items()}
    if results["stridekit"]["params"] != results["torchinfo"]["params"]:
        raise RuntimeError(f"parameter counts disagree: {results}")
    ratios = report(results)
    if args.format == "json":
        print(json.dumps({"model": args.model, "results": results, "ratios": ratios}, indent=2))
        return
    params = results["stridekit"]["params"]
    print(f"timm:{args.model}, {params / 1e6:.0f}M parameters, one run per row")
    print(f"  {'':34s} {'peak RSS':>10s} {'build+analysis':>15s} {'process':>9s}")
    for name, row in results.items():
        seconds = f"{row['seconds']:.3f} s" if "seconds" in row else "-"
        print(
            f"  {name:34s} {row['peak_rss_mb']:7.0f} MB {seconds:>15s} "
            f"{row['process_seconds']:7.2f} s"
        )
    for name, row in ratios.items():
        status = "ok" if row["met"] else "MISSED"
        print(f"  {name:58s} {row['value']:9.3f}  (target ≤ {row['target']}) {status}")


if __name__ == "__main__":
    main()
