#!/usr/bin/env python3
"""Per-segment trace of ns-3's dumbbell, to set beside wirelab's capture.

Runs the unchanged reference script (shared/bench/ns3/dumbbell.py) with
its own arguments, and before Simulator::Run() connects these trace
sources of every sender's socket (flow i is node i) and of the
bottleneck queue:

    T_NS tx   FLOW SEQ LEN            a data segment leaves the sender
    T_NS ack  FLOW ACK SACK...        an ACK arrives at the sender
    T_NS cwnd FLOW BYTES              CongestionWindow
    T_NS ssth FLOW BYTES              SlowStartThreshold
    T_NS state FLOW NAME              CongState (OPEN, DISORDER, CWR, RECOVERY, LOSS)
    T_NS inflight FLOW BYTES          BytesInFlight
    T_NS drop FLOW SEQ LEN            a queue dropped a data segment

SEQ and ACK are relative to the flow's first data byte (ISN + 1), as in
wirelab's trace (benches/scenarios/trace/wirelab_trace.py). The lines go
to --trace; the dumbbell JSON goes to stdout as usual.

    /tmp/ns3venv/bin/python benches/scenarios/trace/ns3_trace.py \
        --trace /tmp/ns3.trace -- --flows 1 --bottleneck-mbps 100 --delay-ms 20 \
        --access-mbps 1000 --access-delay-ms 1 --queue-pkts 100 \
        --access-queue-pkts 1000 --bytes 10000000 --cc Cubic
"""
import argparse
import os
import sys

NS3_DIR = os.environ.get("NS3_DIR", "/work/shared/bench/ns3")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", required=True, help="write the trace lines here")
    ap.add_argument("--until-s", type=float, default=1e9,
                    help="stop tracing after this simulated time (seconds)")
    ap.add_argument("rest", nargs=argparse.REMAINDER,
                    help="-- then dumbbell.py's arguments")
    a = ap.parse_args()
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    sys.path.insert(0, NS3_DIR)
    import anchors_ns3 as X
    import cppyy
    from anchors_ns3 import ns  # noqa: F401

    cppyy.cppdef(r"""
#include <cstdio>
#include <string>
namespace tracer {
using namespace ns3;
FILE* g_out = nullptr;
double g_until = 1e9;
std::vector<uint32_t> g_isn;  // first data byte per flow, once known

static bool on() { return g_out && Simulator::Now().GetSeconds() <= g_until; }
static long long now() { return (long long)Simulator::Now().GetNanoSeconds(); }
static uint32_t rel(uint32_t flow, SequenceNumber32 s) { return s.GetValue() - g_isn[flow]; }

void Tx(uint32_t flow, Ptr<const Packet> p, const TcpHeader& h, Ptr<const TcpSocketBase>) {
  if (h.GetFlags() & TcpHeader::SYN) { g_isn[flow] = h.GetSequenceNumber().GetValue() + 1; return; }
  if (!on() || p->GetSize() == 0) return;
  std::fprintf(g_out, "%lld tx %u %u %u\n", now(), flow, rel(flow, h.GetSequenceNumber()), p->GetSize());
}
void Rx(uint32_t flow, Ptr<const Packet>, const TcpHeader& h, Ptr<const TcpSocketBase>) {
  if (!on() || !(h.GetFlags() & TcpHeader::ACK) || (h.GetFlags() & TcpHeader::SYN)) return;
  std::fprintf(g_out, "%lld ack %u %u", now(), flow, rel(flow, h.GetAckNumber()));
  Ptr<const TcpOptionSack> sack = DynamicCast<const TcpOptionSack>(h.GetOption(TcpOption::SACK));
  if (sack) {
    for (auto& b : sack->GetSackList())
      std::fprintf(g_out, " %u-%u", rel(flow, b.first), rel(flow, b.second));
  }
  std::fprintf(g_out, "\n");
}
void Cwnd(uint32_t flow, uint32_t, uint32_t v) { if (on()) std::fprintf(g_out, "%lld cwnd %u %u\n", now(), flow, v); }
void Ssth(uint32_t flow, uint32_t, uint32_t v) { if (on()) std::fprintf(g_out, "%lld ssth %u %u\n", now(), flow, v); }
void Inflight(uint32_t flow, uint32_t, uint32_t v) { if (on()) std::fprintf(g_out, "%lld inflight %u %u\n", now(), flow, v); }
void State(uint32_t flow, TcpSocketState::TcpCongState_t, TcpSocketState::TcpCongState_t v) {
  if (on()) std::fprintf(g_out, "%lld state %u %s\n", now(), flow, TcpSocketState::TcpCongStateName[v]);
}
// A queue drop: the packet still has its IPv4 header (no PPP header yet).
void Drop(std::vector<std::string>* srcs, Ptr<const Packet> p) {
  if (!on()) return;
  Ptr<Packet> c = p->Copy();
  Ipv4Header ip;
  if (c->PeekHeader(ip) == 0) return;
  c->RemoveHeader(ip);
  if (ip.GetProtocol() != 6) return;
  TcpHeader t;
  c->RemoveHeader(t);
  if (c->GetSize() == 0) return;
  std::ostringstream os; ip.GetSource().Print(os);
  for (uint32_t f = 0; f < srcs->size(); ++f)
    if ((*srcs)[f] == os.str())
      std::fprintf(g_out, "%lld drop %u %u %u\n", now(), f, rel(f, t.GetSequenceNumber()), c->GetSize());
}
void Connect(uint32_t n) {
  for (uint32_t f = 0; f < n; ++f) {
    std::string s = "/NodeList/" + std::to_string(f) + "/$ns3::TcpL4Protocol/SocketList/0/";
    Config::ConnectWithoutContext(s + "Tx", MakeBoundCallback(&Tx, f));
    Config::ConnectWithoutContext(s + "Rx", MakeBoundCallback(&Rx, f));
    Config::ConnectWithoutContext(s + "CongestionWindow", MakeBoundCallback(&Cwnd, f));
    Config::ConnectWithoutContext(s + "SlowStartThreshold", MakeBoundCallback(&Ssth, f));
    Config::ConnectWithoutContext(s + "BytesInFlight", MakeBoundCallback(&Inflight, f));
    Config::ConnectWithoutContext(s + "CongState", MakeBoundCallback(&State, f));
  }
}
void Install(uint32_t n, std::string path, double until) {
  g_out = std::fopen(path.c_str(), "w");
  g_until = until;
  g_isn.assign(n, 1);  // ns-3 ISNs are 0: the first data byte is 1
  auto* srcs = new std::vector<std::string>();
  for (uint32_t f = 0; f < n; ++f) {
    Ptr<Ipv4> ip = NodeList::GetNode(f)->GetObject<Ipv4>();
    std::ostringstream os; ip->GetAddress(1, 0).GetLocal().Print(os);
    srcs->push_back(os.str());
  }
  Config::ConnectWithoutContextFailSafe("/NodeList/*/$ns3::TrafficControlLayer/TcDrop",
                                        MakeBoundCallback(&Drop, srcs));
  Config::ConnectWithoutContextFailSafe("/NodeList/*/DeviceList/*/$ns3::PointToPointNetDevice/MacTxDrop",
                                        MakeBoundCallback(&Drop, srcs));
  // BulkSend opens its socket when it starts (t = 0): connect just after.
  Simulator::Schedule(NanoSeconds(1), &Connect, n);
}
void Close() { if (g_out) std::fclose(g_out); g_out = nullptr; }
}  // namespace tracer
""")
    T = cppyy.gbl.tracer
    flows = 1
    for i, arg in enumerate(rest):
        if arg == "--flows":
            flows = int(rest[i + 1])
    run = X.run_simulation

    def traced_run():
        T.Install(flows, a.trace, a.until_s)
        try:
            return run()
        finally:
            T.Close()

    X.run_simulation = traced_run
    sys.argv = ["dumbbell.py"] + rest
    import dumbbell
    dumbbell.main()


if __name__ == "__main__":
    main()
