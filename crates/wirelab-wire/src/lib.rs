//! wirelab-wire: the real bytes of simulated packets, and packet captures.
//!
//! The simulator moves [`Packet`] structs whose header fields are the real
//! ones. [`encode`] turns one into the Ethernet frame a real host would
//! send (headers, options, checksums, padding), and [`pcapng`] writes such
//! frames into a capture file that Wireshark and tshark open.
//!
//! # What a capture of a run holds
//!
//! [`write_capture`] writes the frames of [`Sim::captured`] as follows:
//!
//! - **One interface per network.** Every segment (a lab network) becomes
//!   one Interface Description Block, in the lab's order, named after the
//!   network (`if_name`), described by its prefixes (`if_description`),
//!   link type Ethernet (or PPP for a `framing: ppp` link, whose frames
//!   are the 2-byte PPP protocol field and the datagram), nanosecond
//!   timestamps (`if_tsresol` = 9). It is
//!   what a capture taken on a switch port mirroring the whole network
//!   would show.
//! - **Each frame once,** on the network it was sent onto, at the moment
//!   its first bit went onto the wire (the engine's
//!   [`CapturedFrame::time`]), exactly: the timestamp is the simulated
//!   time in nanoseconds since the start of the run (shown by Wireshark
//!   as a date in January 1970). A frame forwarded by a router appears
//!   again on the next network as the router's own new frame, with the
//!   TTL one lower. Frames dropped in a queue before transmission never
//!   reach the wire, so they are not in the capture; frames lost on the
//!   wire or dropped by the receiver are.
//! - Each frame carries a comment naming the node that sent it.
//!
//! The same lab and seed give the same bytes: nothing here reads a clock
//! or draws a random number (see [`frame`] for how fields the simulator
//! does not model are chosen).
//!
//! [`Sim::captured`]: wirelab_sim::Sim::captured

pub mod frame;
pub mod pcapng;

use std::io::{self, Write};

use wirelab_net::Network;
use wirelab_sim::packet::Framing;
use wirelab_sim::{CapturedFrame, Packet};

pub use frame::{encode, encode_framed, encode_into};

/// The application named in every capture's section header.
pub const APPLICATION: &str = concat!("wirelab ", env!("CARGO_PKG_VERSION"));

/// Writes `frames` (as [`wirelab_sim::Sim::captured`] returns them) as a
/// pcapng capture of `net`: one interface per network, each frame once,
/// timestamped with its simulated time (see the crate docs).
pub fn write_capture(net: &Network, frames: &[CapturedFrame], out: impl Write) -> io::Result<()> {
    let mut w = pcapng::Writer::new(out, APPLICATION)?;
    for seg in &net.segments {
        let prefixes: Vec<String> = seg
            .ipv4
            .iter()
            .map(ToString::to_string)
            .chain(seg.ipv6.iter().map(ToString::to_string))
            .collect();
        let description = (!prefixes.is_empty()).then(|| prefixes.join(" "));
        let link_type = match seg.link.framing {
            Framing::Ethernet => pcapng::LINKTYPE_ETHERNET,
            Framing::Ppp => pcapng::LINKTYPE_PPP,
        };
        w.interface_of(link_type, &seg.name, description.as_deref())?;
    }
    let mut bytes = Vec::with_capacity(1514);
    let mut comment = String::new();
    for f in frames {
        let framing = net.segments[f.segment].link.framing;
        frame::encode_framed(&f.packet, framing, f.payload.as_deref(), &mut bytes);
        comment.clear();
        comment.push_str("sent by ");
        comment.push_str(&net.nodes[net.ifaces[f.iface].node].name);
        let segment = u32::try_from(f.segment).expect("fewer than 2^32 networks");
        w.packet(segment, f.time.as_nanos(), &bytes, Some(&comment))?;
    }
    w.flush()
}

/// Writes a capture of single packets, each on interface 0 (named
/// `name`) at the given time: for tests and for tools that build frames
/// without a network.
pub fn write_packets<'a>(
    name: &str,
    packets: impl IntoIterator<Item = (u64, &'a Packet)>,
    out: impl Write,
) -> io::Result<()> {
    let mut w = pcapng::Writer::new(out, APPLICATION)?;
    let iface = w.interface(name, None)?;
    for (time_ns, p) in packets {
        w.packet(iface, time_ns, &encode(p), None)?;
    }
    w.flush()
}
