"""The wirelab ping storm, in ns-3 (ns-3.44 through the `ns3` PyPI wheel).

It builds the topology of `wirelab_bench::storm_lab_yaml(pairs)`:

    src-i on LAN a0/a1 --- r1 === r2 --- dst-i on LAN b0/b1

The four LANs are shared segments (10 Gbps, 10 us, 1000-packet drop-tail
device queues, no queue disc), r1-r2 is a point-to-point link (10 Gbps,
50 us). A LAN is ns-3's SimpleNetDevice/SimpleChannel by default: full
duplex, a queue per device, broadcast to every other device, which is
wirelab's segment model. `--l2 csma` uses CSMA instead: half duplex, and
ns-3 keeps the medium busy for the propagation delay too, so 10 us LANs
saturate at about 100 frames per millisecond (100 pairs) and collapse
into backoff. Every client pings its server every `--interval-ms`, `--count`
times, 56-byte payloads; client i starts at i * interval / pairs. The
run ends when every echo has had time to come back.

Printed on stdout as one JSON object: the events the scheduler popped
(`Simulator::GetEventCount`), the replies counted by a C++ trace sink,
and the wall time of `Simulator::Run()` alone (setup and the ~5 s
import are not in it). No Python runs inside `Simulator::Run()`.

Differences from wirelab's model that matter when reading the numbers:
ns-3 has no security groups or connection
tracking; ns-3's ARP queues 3 packets per pending entry, like wirelab,
and its random 0-10 ms ARP request jitter is turned off here (wirelab
has none).
Compare the wall time to simulate the same echoes, not the event counts.

Usage (the venv as in shared/bench/ns3/RESULTS.md):
    /tmp/ns3venv/bin/python benches/ns3/pingstorm.py --pairs 100 --count 2000 2>/dev/null
"""

import argparse
import json
import sys
import time

from ns import ns  # slow: cling parses the ns-3 headers
import cppyy

cppyy.cppdef(
    r"""
namespace pingstorm {
using namespace ns3;

// Echo replies seen by every Ping application: compiled C++, so that the
// simulation loop never calls back into Python.
uint64_t* g_replies = nullptr;

void CountReply(uint16_t, Time) { ++*g_replies; }

void ListenForReplies() {
  g_replies = new uint64_t(0);
  Config::ConnectWithoutContextFailSafe(
      "/NodeList/*/ApplicationList/*/$ns3::Ping/Rtt", MakeCallback(&CountReply));
}

uint64_t Replies() { return *g_replies; }
}  // namespace pingstorm
"""
)

LANS = [("10.1.0.0", "r1"), ("10.2.0.0", "r1"), ("10.3.0.0", "r2"), ("10.4.0.0", "r2")]


def lan_helper(l2, lan_delay_us):
    """The helper that builds a LAN segment of the chosen L2 model."""
    delay = ns.TimeValue(ns.MicroSeconds(lan_delay_us))
    if l2 == "csma":
        csma = ns.CsmaHelper()
        csma.SetChannelAttribute("DataRate", ns.StringValue("10Gbps"))
        csma.SetChannelAttribute("Delay", delay)
        csma.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.StringValue("1000p"))
        return csma
    simple = ns.SimpleNetDeviceHelper()
    simple.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate("10Gbps")))
    simple.SetChannelAttribute("Delay", delay)
    simple.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.StringValue("1000p"))
    return simple


def build(pairs, l2, lan_delay_us, link_delay_us):
    """Nodes, devices, addresses and routes; returns (clients, server addresses)."""
    # ns-3 delays every ARP request by a random 0-10 ms to avoid collisions;
    # wirelab (and Linux) solicit at once. Without this the first echoes of
    # every client overflow the 3-packet ARP queue.
    ns.Config.SetDefault(
        "ns3::ArpL3Protocol::RequestJitter",
        ns.StringValue("ns3::ConstantRandomVariable[Constant=0.0]"),
    )
    routers = ns.NodeContainer()
    routers.Create(2)
    clients = ns.NodeContainer()
    clients.Create(pairs)
    servers = ns.NodeContainer()
    servers.Create(pairs)
    everything = ns.NodeContainer()
    everything.Add(routers)
    everything.Add(clients)
    everything.Add(servers)
    ns.InternetStackHelper().Install(everything)

    segment = lan_helper(l2, lan_delay_us)
    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.StringValue("10Gbps"))
    p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.MicroSeconds(link_delay_us)))
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.StringValue("1000p"))

    tc = ns.TrafficControlHelper()
    server_addrs = [None] * pairs
    for lan, (base, router) in enumerate(LANS):
        members = ns.NodeContainer()
        members.Add(routers.Get(0 if router == "r1" else 1))
        side = clients if lan < 2 else servers
        indices = [i for i in range(pairs) if i % 2 == lan % 2]
        for i in indices:
            members.Add(side.Get(i))
        devices = segment.Install(members)
        addrs = ns.Ipv4AddressHelper()
        addrs.SetBase(ns.Ipv4Address(base), ns.Ipv4Mask("255.255.0.0"))
        assigned = addrs.Assign(devices)  # the router first: .0.1
        tc.Uninstall(devices)  # no fq_codel: only the device queue, as in wirelab
        if lan >= 2:
            for k, i in enumerate(indices):
                server_addrs[i] = assigned.GetAddress(k + 1)
    link = p2p.Install(routers.Get(0), routers.Get(1))
    addrs = ns.Ipv4AddressHelper()
    addrs.SetBase(ns.Ipv4Address("10.0.12.0"), ns.Ipv4Mask("255.255.255.252"))
    addrs.Assign(link)
    tc.Uninstall(link)
    ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()
    return clients, server_addrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--count", type=int, default=2000, help="echoes per client")
    ap.add_argument("--interval-ms", type=float, default=1.0)
    ap.add_argument(
        "--l2",
        choices=["simple", "csma"],
        default="simple",
        help="LAN model: simple = full duplex, no contention (like wirelab); "
        "csma = half duplex, the medium is busy for serialisation + propagation",
    )
    ap.add_argument("--lan-delay-us", type=int, default=10)
    ap.add_argument("--link-delay-us", type=int, default=50)
    ap.add_argument("--reps", type=int, default=1, help="runs in fresh simulators")
    args = ap.parse_args()

    runs = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        clients, server_addrs = build(args.pairs, args.l2, args.lan_delay_us, args.link_delay_us)
        interval_s = args.interval_ms / 1e3
        for i in range(args.pairs):
            ping = ns.PingHelper(server_addrs[i].ConvertTo())
            ping.SetAttribute("Interval", ns.TimeValue(ns.Seconds(interval_s)))
            ping.SetAttribute("Count", ns.UintegerValue(args.count))
            ping.SetAttribute("Size", ns.UintegerValue(56))
            ping.SetAttribute("VerboseMode", ns.StringValue("Silent"))
            apps = ping.Install(clients.Get(i))
            apps.Start(ns.Seconds(interval_s * i / args.pairs))
        pingstorm = cppyy.gbl.pingstorm
        pingstorm.ListenForReplies()
        horizon_s = interval_s * (args.count + 2) + 0.01
        ns.Simulator.Stop(ns.Seconds(horizon_s))
        setup_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        ns.Simulator.Run()
        run_s = time.perf_counter() - t1
        events = int(ns.Simulator.GetEventCount())
        runs.append(
            {
                "events": events,
                "replies": int(pingstorm.Replies()),
                "run_wall_s": run_s,
                "events_per_s": events / run_s,
                "setup_s": setup_s,
            }
        )
        ns.Simulator.Destroy()

    best = min(runs, key=lambda r: r["run_wall_s"])
    out = {
        "simulator": "ns-3.44 (ns3 PyPI wheel)",
        "pairs": args.pairs,
        "count": args.count,
        "echoes": args.pairs * args.count,
        "interval_ms": args.interval_ms,
        "l2": args.l2,
        "best": best,
        "runs": runs,
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
