#!/usr/bin/env python3
"""Writes ringtone.wav, the sound an incoming call plays with the client's `sound` feature.

The ring is the classic two-tone phone ring: 440 Hz and 480 Hz together, in two bursts
(0.7 s on, 0.1 s off, 0.7 s on) followed by 0.5 s of silence, so the 2 s clip loops in step
with the terminal bell, which rings every 2 s. Short fades at every edge avoid clicks.
Format: 16 kHz, mono, 16-bit PCM (about 64 KB).

The output is deterministic. To regenerate, from the repository root:

    python3 assets/make_ringtone.py

(standard library only; pass another path as the first argument to write elsewhere).
"""

import math
import struct
import sys
import wave
from pathlib import Path

RATE = 16_000
TONES_HZ = (440.0, 480.0)
# (seconds, sounding?) in order; the clip is their sum.
PATTERN = ((0.7, True), (0.1, False), (0.7, True), (0.5, False))
FADE_S = 0.015
# Peak amplitude as a fraction of full scale: loud enough to hear, never clipping.
PEAK = 0.45


def envelope(i: int, length: int) -> float:
    """A raised-cosine fade in and out over FADE_S at both ends of a burst."""
    fade = int(FADE_S * RATE)
    edge = min(i, length - 1 - i)
    if edge >= fade:
        return 1.0
    return 0.5 - 0.5 * math.cos(math.pi * edge / fade)


def samples() -> list[int]:
    out: list[int] = []
    for seconds, sounding in PATTERN:
        length = round(seconds * RATE)
        start = len(out)
        for i in range(length):
            if not sounding:
                out.append(0)
                continue
            t = (start + i) / RATE
            mix = sum(math.sin(2 * math.pi * hz * t) for hz in TONES_HZ) / len(TONES_HZ)
            out.append(round(32767 * PEAK * envelope(i, length) * mix))
    return out


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("ringtone.wav")
    data = samples()
    with wave.open(str(target), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(data)}h", *data))
    print(f"wrote {target} ({len(data) / RATE:.1f} s, {target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
