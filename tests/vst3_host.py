"""Trimeter through a real third-party VST3 host (Spotify's pedalboard).

Usage: python vst3_host.py PATH/TO/Trimeter.vst3
Exits non-zero (with a message) on the first failed check; prints one line per check passed.
"""

import math
import sys

import numpy as np
from pedalboard import load_plugin

EXPECTED_PARAMETERS = ["input_trim_db", "output_makeup_db", "invert_left", "invert_right", "bypass"]


def peak_dbfs(signal):
    return 20.0 * math.log10(float(np.max(np.abs(signal))))


def sine(sample_rate, peak_dbfs_value, seconds, frequency=997.0):
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return (10 ** (peak_dbfs_value / 20.0) * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def check(condition, message):
    if not condition:
        print("FAIL: " + message, file=sys.stderr)
        sys.exit(1)
    print("ok: " + message)


def main():
    path = sys.argv[1]
    plugin = load_plugin(path)
    names = list(plugin.parameters.keys())
    for name in EXPECTED_PARAMETERS:
        check(name in names, f"parameter {name} listed ({names})")

    for sample_rate in (44100, 48000, 96000):
        plugin = load_plugin(path)
        plugin.input_trim_db = 6.0
        check(abs(plugin.input_trim_db - 6.0) < 1e-3, f"input_trim reads back 6 dB ({plugin.input_trim_db})")
        x = sine(sample_rate, -20.0, 0.5)
        y = plugin(np.stack([x, x]), sample_rate)
        settled = y[:, int(0.1 * sample_rate):]
        level = peak_dbfs(settled)
        check(abs(level - -14.0) <= 0.01, f"{sample_rate} Hz: -20 dBFS + 6 dB trim = {level:.4f} dBFS")
        check(bool(np.all(np.isfinite(y))), "output finite")

    plugin = load_plugin(path)
    plugin.input_trim_db = -7.25
    # pedalboard's dB setter searches the display text at 0.001 of the normalized range (0.072 dB
    # over -36..+36), so set the exact normalized value, as automation would.
    plugin.parameters["output_makeup_db"].raw_value = (3.5 + 36.0) / 72.0
    plugin.invert_right = "Inverted"  # a two-state parameter with named states
    # pedalboard (JUCE) queues parameter changes and hands them to the plugin with the next
    # process call (a DAW's message thread would also flush them), so process once first.
    plugin(np.zeros((2, 64), dtype=np.float32), 48000)
    state = plugin.raw_state
    other = load_plugin(path)
    other.raw_state = state
    check(abs(other.input_trim_db - -7.25) < 1e-3, f"state restores input_trim ({other.input_trim_db})")
    check(abs(other.output_makeup_db - 3.5) < 1e-3, f"state restores output_makeup ({other.output_makeup_db})")
    check(other.invert_right == "Inverted", f"state restores invert_right ({other.invert_right})")
    check(other.raw_state == state, "re-saved state is byte-identical")

    # The restored instance processes like the original: -3.75 dB net, right channel inverted.
    x = sine(48000, -10.0, 0.3)
    y = other(np.stack([x, x]), 48000)
    settled = y[:, 9600:]
    check(abs(peak_dbfs(settled[0]) - -13.75) <= 0.01, f"restored gain applies ({peak_dbfs(settled[0]):.4f})")
    check(float(np.dot(settled[0], settled[1])) < 0, "restored polarity inversion applies")


if __name__ == "__main__":
    main()
