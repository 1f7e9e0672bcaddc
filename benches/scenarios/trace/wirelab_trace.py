#!/usr/bin/env python3
"""Per-segment trace of a wirelab dumbbell run, in ns3_trace.py's format.

Runs `wirelab run LAB --pcap FILE` and reads the capture (one interface
per network): a data segment a sender puts on its access network `saI`
is `tx`; an ACK r0 puts on `saI` is `ack` (the time it arrives at the
sender: the capture's first-bit time plus serialization and the access
delay); a data segment sent on `saI` whose copy never appears on
the bottleneck's data link `r0-r1` was dropped by r0's bottleneck queue: `drop`, at the time it
was sent. SEQ and ACK are relative to the first data byte (ISN + 1).

    python3 benches/scenarios/trace/wirelab_trace.py benches/scenarios/dumbbell-f1-cubic.yaml \
        --trace /tmp/wl.trace --until-s 2
"""
import argparse
import collections
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from compare import read_pcapng  # noqa: E402


def parse(fr):
    """(src ip, dst ip, flags, seq, ack, payload length, sack blocks) of an IPv4 TCP frame."""
    if len(fr) < 34 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
        return None
    ihl = (fr[14] & 15) * 4
    tot = struct.unpack_from(">H", fr, 16)[0]
    t = 14 + ihl
    seq, ack = struct.unpack_from(">II", fr, t + 4)
    doff = (fr[t + 12] >> 4) * 4
    sacks, o = [], t + 20
    while o < t + doff:
        kind = fr[o]
        if kind == 0:
            break
        if kind == 1:
            o += 1
            continue
        ln = fr[o + 1]
        if kind == 5:
            for b in range(o + 2, o + ln, 8):
                sacks.append(struct.unpack_from(">II", fr, b))
        o += max(ln, 2)
    src = ".".join(map(str, fr[26:30]))
    dst = ".".join(map(str, fr[30:34]))
    return src, dst, fr[t + 13], seq, ack, tot - ihl - doff, sacks


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lab")
    ap.add_argument("--trace", required=True)
    ap.add_argument("--until-s", type=float, default=3600.0,
                    help="trace up to this time after the flows start (at most a day less the start)")
    ap.add_argument("--wirelab", default="target/release/wirelab")
    ap.add_argument("--pcap", default="/tmp/wirelab-trace.pcapng")
    ap.add_argument("--access-mbps", type=float, default=1000.0)
    ap.add_argument("--access-delay-ms", type=float, default=1.0)
    ap.add_argument("--access-framing", choices=["ppp", "ethernet"], default="ppp",
                    help="the access networks' framing (round 4's labs: ethernet)")
    ap.add_argument("--start-s", type=float, default=1.0, help="when the lab's flows start")
    a = ap.parse_args()
    subprocess.run([a.wirelab, "run", a.lab, "--pcap", a.pcap, "--format", "json",
                    "--until", f"{a.start_s + a.until_s + 1}s"],
                   check=True, stdout=subprocess.DEVNULL)
    t0 = int(a.start_s * 1e9)
    until = t0 + int(a.until_s * 1e9)
    flow_of = {}       # sender ip -> flow index (by network name saI)
    isn = {}
    data_on = collections.defaultdict(list)  # (flow, seq, len) -> [times on saI]
    passed = collections.defaultdict(list)   # (flow, seq, len) -> [times on r0-r1]
    lines = []
    for iface, ts, fr in read_pcapng(a.pcap):
        p = parse(fr)
        if p is None:
            continue
        src, dst, flags, seq, ack, plen, sacks = p
        if iface.startswith("sa") and flags & 0x02 and not flags & 0x10:
            flow_of[src] = int(iface[2:])
            isn[flow_of[src]] = seq + 1
            continue
        if iface.startswith("sa") and src in flow_of and plen > 0:
            f = flow_of[src]
            key = (f, (seq - isn[f]) % 2**32, plen)
            data_on[key].append(ts)
            if ts <= until:
                lines.append((ts - t0, f"tx {f} {key[1]} {plen}"))
        elif iface in ("r0-r1", "bn-data") and src in flow_of and plen > 0:
            f = flow_of[src]
            passed[(f, (seq - isn[f]) % 2**32, plen)].append(ts)
        elif iface.startswith("sa") and dst in flow_of and flags & 0x10 and not flags & 0x02:
            f = flow_of[dst]
            # read_pcapng gives every frame a 14-byte Ethernet header; PPP's is 2.
            wire = len(fr) - (12 if a.access_framing == "ppp" else 0)
            arrive = ts + int(wire * 8 / a.access_mbps * 1e3) + int(a.access_delay_ms * 1e6)
            if arrive <= until:
                blocks = " ".join(f"{(l - isn[f]) % 2**32}-{(r - isn[f]) % 2**32}" for l, r in sacks)
                lines.append((arrive - t0, f"ack {f} {(ack - isn[f]) % 2**32} {blocks}".rstrip()))
    # A copy on r0-r1 (round 4's labs: bn-data) is the latest copy sent on saI before it (the queue
    # is FIFO); the copies sent and never matched were dropped at r0.
    for key, times in data_on.items():
        unmatched = list(times)
        for b in passed[key]:
            before = [t for t in unmatched if t < b]
            if before:
                unmatched.remove(before[-1])
        for t in unmatched:
            if t <= until:
                lines.append((t - t0, f"drop {key[0]} {key[1]} {key[2]}"))
    lines.sort(key=lambda x: x[0])
    with open(a.trace, "w") as out:
        for t, text in lines:
            out.write(f"{t} {text}\n")


if __name__ == "__main__":
    main()
