"""Two Trimeter instances around a pedalboard Gain of -9 dB, in one process (pedalboard's):
Start and End set by parameter, Continuous match. The output must come back to the input level.

Usage: python link_host.py PATH/TO/Trimeter.vst3
Exits non-zero (with a message) on the first failed check; prints one line per check passed.
"""

import math
import sys

import numpy as np
from pedalboard import Gain, Pedalboard, load_plugin

from vst3_host import check

RATE = 48000


def rms_db(x):
    return 10.0 * math.log10(float(np.mean(np.square(x, dtype=np.float64))))


def main():
    path = sys.argv[1]
    start = load_plugin(path)
    end = load_plugin(path)
    for name in ["link_role", "link_group", "match_mode", "match_measure", "compare"]:
        check(name in start.parameters, f"parameter {name} listed")
    start.link_role = "Start"
    end.link_role = "End"
    start.link_group = 7
    end.link_group = 7
    end.match_mode = "Continuous"
    check(start.link_role == "Start" and end.link_role == "End", "roles set by parameter")
    check(end.match_mode == "Continuous", "match mode set by parameter")
    board = Pedalboard([start, Gain(gain_db=-9.0), end])
    rng = np.random.default_rng(7)
    x = (0.25 * rng.standard_normal((2, RATE * 14))).astype(np.float32)
    # Small buffers, so the chain runs block by block as in a DAW (Start, Gain, End per block).
    y = board(x, RATE, buffer_size=512, reset=False)
    check(bool(np.all(np.isfinite(y))), "output finite")
    tail = slice(RATE * 10, RATE * 14)
    difference = rms_db(y[:, tail]) - rms_db(x[:, tail])
    check(abs(difference) <= 0.6, f"output returns to the input level ({difference:+.2f} dB)")


if __name__ == "__main__":
    main()
