#!/usr/bin/env python3
"""Generate the wirelab labs that mirror the ns-3 reference scripts
(/work/shared/bench/ns3/{handshake,dumbbell}.py) parameter for parameter.

    python3 benches/scenarios/gen.py            # (re)writes benches/scenarios/*.yaml

Every lab is a pure function of its parameters, so `compare.py` can also
call `handshake_lab()` / `dumbbell_lab()` for a case that has no file here.

What is matched (ns-3 RESULTS.md §2):
  * rates, one-way delays, DropTail queue sizes per sending interface
    (ns-3 bottleneck --queue-pkts 100, access --access-queue-pkts 1000;
    handshake: 1000 on every device);
  * TCP: SMSS 1448 payload bytes (MTU 1500, minus 20 IP, 20 TCP and 12 of
    timestamp option), initial window 10, delayed ACK every 2nd segment or
    200 ms, min RTO 1 s, SACK, timestamps, window scaling, 4 MiB buffers,
    NewReno or CUBIC; window growth counted as ns-3 counts it (`increase`),
    ns-3's loss response (`recovery: ns3`) and, for CUBIC, ns-3.44's
    TcpCubic (`cubic: ns3`: Linux's segment-counting update and the
    original HyStart with ns-3's thresholds);
  * one access link per host (ns-3: a point-to-point link per sender and
    per receiver), so no two flows share an access queue;
  * random loss only on the data direction of the bottleneck: the bottleneck
    is two one-way point-to-point links (`links:` r0-r1 carries data and is
    lossy, r1-r0 carries ACKs and is clean), by static routes;
  * the framing of every link: the bottleneck's two `links:` and every
    access network (a host and its router, two ends) are `framing: ppp`
    (a 2-byte PPP header, no minimum frame, no ARP), as ns-3's
    PointToPoint devices, so a segment or a SYN takes as long on each hop
    as in ns-3 (rounds 5 and 8 of docs/benchmarks.md). With no address
    resolution anywhere, the first SYN leaves at once, as in ns-3. The
    handshake lab's two networks are PPP too.
  * TCP starts at t = 1 s, as ns-3's applications do; times are reported
    relative to the workload's start, as ns-3 reports them relative to its
    start.

What still differs:
  * TCP's own options: wirelab's SYN carries SACK-permitted, timestamps and
    window scale as Linux lays them out; with `mss_option: false` it has no
    MSS option, as ns-3's (56 B of IP, 58 B on PPP).
  * `framing="ethernet"` (round 4's labs) puts Ethernet on every link;
    then each flow pings twice before its TCP starts (t = 0 and 0.2 s) to
    warm the ARP caches: r0 holds only three packets while it resolves a
    next hop, so one ping per flow leaves some caches cold and their SYNs
    wait 2 ms for ARP.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

TCP_NS3 = {
    "congestion": "newreno",
    # ns-3's TcpNewReno counts ACKs, not bytes (SlowStart: one SMSS per ACK,
    # CongestionAvoidance: SMSS^2/cwnd per ACK). Its TcpCubic counts
    # segments acknowledged, in slow start too (cwnd += segmentsAcked *
    # SMSS): `bytes` for CUBIC, in _tcp_block().
    "increase": "per-ack",
    # ns-3.44's loss response (ssthresh from pipe for NewReno and cwnd for
    # CUBIC, its PRR's DeliveredData and RecoverFS): see lab-format.md.
    "recovery": "ns3",
    "min_rto": "1s",
    # ns-3's ConnTimeout: a lost SYN or SYN-ACK waits 3 s, not 1 s.
    "initial_rto": "3s",
    "delayed_ack": "200ms",
    "nagle": False,           # ns-3 TcpNoDelay
    "sack": True,
    "timestamps": True,
    "window_scaling": True,
    # ns-3 sends no MSS option (SYN 58 B on PPP, not 62 B), and uses its
    # own SegmentSize when the peer sends none.
    "mss_option": False,
    "initial_window": 10,
    "receive_buffer": "4MiB",
    "send_buffer": "4MiB",
}

WARMUP_START = "1s"   # TCP starts here, as ns-3's applications do


def fmt_num(x):
    """A number without a useless fraction: 20.0 -> '20', 2.5 -> '2.5'."""
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def _flow_map(d):
    return "{ " + ", ".join(f"{k}: {v}" for k, v in d.items()) + " }"


def _tcp_block(cc):
    t = dict(TCP_NS3)
    t["congestion"] = cc.lower()
    if t["congestion"] == "cubic":
        # ns-3.44's TcpCubic is a port of Linux's tcp_cubic.c (cnt, min RTT,
        # the clamp of 20, tcp_friendliness) with its own HyStart thresholds.
        t = {"congestion": "cubic", "cubic": "ns3", **{k: v for k, v in t.items() if k != "congestion"}}
        t["increase"] = "bytes"
    return ["tcp:"] + [f"  {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in t.items()]


def handshake_lab(rtt_ms=20.0, rate_mbps=100.0, nbytes=1_000_000, cc="newreno", queue=1000):
    """ns-3 handshake.py: client -- router -- server; both links rate B and
    one-way delay RTT/4; 1000-packet queues; one transfer of `nbytes`."""
    d = fmt_num(rtt_ms / 4)
    link = f"{{ bandwidth: {fmt_num(rate_mbps)}Mbps, delay: {d}ms, queue: {queue}, framing: ppp }}"
    name = f"handshake-rtt{fmt_num(rtt_ms)}-{fmt_num(rate_mbps)}m"
    lines = [
        f"# generated by benches/scenarios/gen.py: ns-3 handshake.py --rtt-ms {fmt_num(rtt_ms)} "
        f"--rate-mbps {fmt_num(rate_mbps)} --bytes {nbytes}",
        f"lab: {name}",
        "seed: 1",
        "networks:",
        f"  c: {{ cidr: 10.1.0.0/24, link: {link} }}",
        f"  s: {{ cidr: 10.2.0.0/24, link: {link} }}",
        "routers:",
        "  r: { interfaces: { c: 10.1.0.1, s: 10.2.0.1 } }",
        "hosts:",
        "  client: { network: c, ip: 10.1.0.2 }",
        "  server: { network: s, ip: 10.2.0.2, services: [{ port: 9, app: sink }] }",
        *_tcp_block(cc),
        "traffic:",
        f"  - {{ name: transfer, from: client, to: server, port: 9, start: {WARMUP_START}, bulk: {nbytes}B }}",
    ]
    return name, "\n".join(lines) + "\n"


def dumbbell_lab(flows=1, bottleneck_mbps=100.0, delay_ms=20.0, access_mbps=1000.0,
                 access_delay_ms=1.0, queue_pkts=100, access_queue_pkts=1000,
                 nbytes=10_000_000, loss=0.0, cc="newreno", start_spacing_ms=0.0,
                 framing="ppp"):
    """ns-3 dumbbell.py: S_i --access--> r0 ==bottleneck==> r1 --access--> D_i.
    `nbytes=None` means unbounded (ns-3 --duration): a 1000 GB bulk cut by
    `wirelab run --until`. `loss` is a probability (ns-3 --loss), data
    direction only. `framing` is every link's (`ppp` as ns-3;
    `ethernet` gives round 4's labs, with ARP-warming pings)."""
    acc = (f"{{ bandwidth: {fmt_num(access_mbps)}Mbps, delay: {fmt_num(access_delay_ms)}ms, "
           f"queue: {access_queue_pkts}, framing: {framing} }}")
    lossy = f", loss: {fmt_num(loss * 100)}%" if loss > 0 else ""
    bn_props = (f"bandwidth: {fmt_num(bottleneck_mbps)}Mbps, delay: {fmt_num(delay_ms)}ms, "
                f"queue: {queue_pkts}, framing: {framing}")
    tag = f"{'bytes' + str(nbytes) if nbytes else 'unbounded'}"
    name = f"dumbbell-f{flows}-{cc.lower()}" + (f"-loss{fmt_num(loss * 100)}" if loss else "")
    if flows > 250:
        raise SystemExit("at most 250 flows (one /24 per host)")
    lines = [
        "# generated by benches/scenarios/gen.py: ns-3 dumbbell.py "
        f"--flows {flows} --bottleneck-mbps {fmt_num(bottleneck_mbps)} --delay-ms {fmt_num(delay_ms)} "
        f"--access-mbps {fmt_num(access_mbps)} --access-delay-ms {fmt_num(access_delay_ms)} "
        f"--queue-pkts {queue_pkts} --access-queue-pkts {access_queue_pkts} "
        + (f"--bytes {nbytes} " if nbytes else "--duration T ")
        + (f"--loss {loss} " if loss else "") + f"--cc {'Cubic' if cc.lower() == 'cubic' else 'NewReno'}"
        + (f" --start-spacing-ms {fmt_num(start_spacing_ms)}" if start_spacing_ms else ""),
        f"lab: {name}",
        "seed: 1",
        "links:",
        "  # the bottleneck, one link per direction: data r0 -> r1 (lossy when --loss), ACKs r1 -> r0",
        f"  - {{ between: [r0, r1], cidr: 10.0.0.0/30, {bn_props}{lossy} }}",
        f"  - {{ between: [r1, r0], cidr: 10.0.1.0/30, {bn_props} }}",
        "networks:",
    ]
    for i in range(flows):
        lines.append(f"  sa{i}: {{ cidr: 10.1.{i}.0/24, link: {acc} }}")
        lines.append(f"  da{i}: {{ cidr: 10.2.{i}.0/24, link: {acc} }}")
    # r0 is the first end of r0-r1 (10.0.0.1) and the second of r1-r0
    # (10.0.1.2).
    lines += ["routers:", "  r0:", "    interfaces:"]
    lines += [f"      sa{i}: 10.1.{i}.1" for i in range(flows)]
    lines += ["    routes: [{ to: 10.2.0.0/16, via: 10.0.0.2 }]"]
    lines += ["  r1:", "    interfaces:"]
    lines += [f"      da{i}: 10.2.{i}.1" for i in range(flows)]
    lines += ["    routes: [{ to: 10.1.0.0/16, via: 10.0.1.2 }]"]
    lines += ["hosts:"]
    for i in range(flows):
        lines.append(f"  s{i}: {{ network: sa{i}, ip: 10.1.{i}.2 }}")
        lines.append(f"  d{i}: {{ network: da{i}, ip: 10.2.{i}.2, services: [{{ port: 9, app: sink }}] }}")
    lines += _tcp_block(cc)
    lines += ["traffic:"]
    for i in range(flows if framing == "ethernet" else 0):
        lines.append(f"  - {{ name: warm{i}, from: s{i}, to: d{i}, ping: {{ count: 2, interval: 200ms }} }}")
    size = f"{nbytes}B" if nbytes else "1000GB"
    for i in range(flows):
        st = 1000.0 + i * start_spacing_ms
        lines.append(f"  - {{ name: flow{i}, from: s{i}, to: d{i}, port: 9, start: {fmt_num(st)}ms, bulk: {size} }}")
    _ = tag
    return name, "\n".join(lines) + "\n"


def memory_lab(conns, clients=100):
    """`conns` concurrent, idle TCP connections: request/response clients
    that exchange one small request and then think for an hour. One LAN,
    `clients` client hosts, one server."""
    lines = [
        f"# generated by benches/scenarios/gen.py: {conns} concurrent idle connections",
        f"lab: memory-{conns}",
        "seed: 1",
        "networks:",
        "  lan: { cidr: 10.0.0.0/16, link: { bandwidth: 10Gbps, delay: 10us, queue: 1000 } }",
        "hosts:",
        "  server: { network: lan, ip: 10.0.0.2, services: [{ port: 80, app: http }] }",
    ]
    n_clients = max(1, min(clients, conns))
    for c in range(n_clients):
        lines.append(f"  c{c}: {{ network: lan, ip: 10.0.{1 + c // 250}.{1 + c % 250} }}")
    lines += _tcp_block("cubic")
    lines += ["traffic:"]
    for k in range(conns):
        c = k % n_clients
        st = k * 10  # us: spread the handshakes over 10 us * conns
        lines.append(f"  - {{ name: conn{k}, from: c{c}, to: server, port: 80, start: {st}us, "
                     "requests: { count: 2, request: 100B, response: 100B, think: 1h } }")
    return f"memory-{conns}", "\n".join(lines) + "\n"


# The committed set: what compare.py runs by default.
def all_labs():
    labs = []
    for rtt in (20, 50):
        labs.append(handshake_lab(rtt_ms=rtt))
    for cc in ("newreno", "cubic"):
        for n in (1, 8, 64):
            labs.append(dumbbell_lab(flows=n, cc=cc))
        labs.append(dumbbell_lab(flows=1, cc=cc, loss=0.01, nbytes=None))
    for n in (1, 1000, 10000):
        labs.append(memory_lab(n))
    return labs


def main():
    out = HERE if len(sys.argv) < 2 else sys.argv[1]
    for name, text in all_labs():
        with open(os.path.join(out, name + ".yaml"), "w") as f:
            f.write(text)
        print(name + ".yaml")


if __name__ == "__main__":
    main()
