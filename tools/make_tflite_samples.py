"""Write the small .tflite samples under tests/data/tflite/ (the docs and doctests read
them; a test checks that they are what this script writes).

    python tools/make_tflite_samples.py

They are built with the flatbuffers builder (tests/frontends/tflite_builder.py), not a
converter: no TensorFlow is needed, and the bytes are the same on every machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"mobile_int8.tflite": "quantized", "mobile_block.tflite": "mobile_block"}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.frontends.tflite_cases import CASES

    folder = ROOT / "tests" / "data" / "tflite"
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, case in SAMPLES.items():
        data = CASES[case].build()
        (folder / file_name).write_bytes(data)
        print(f"{folder / file_name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
