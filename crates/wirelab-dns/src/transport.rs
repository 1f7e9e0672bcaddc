//! The transport a DNS message travels over.
//!
//! RFC 1035 §4.2 allows both: "The Internet supports name server access
//! using TCP [RFC-793] on server port 53 (decimal) as well as datagram access
//! using UDP [RFC-768] on UDP port 53 (decimal)."
//!
//! Everything in this crate emits and accepts *bare* DNS messages. Over TCP,
//! RFC 1035 §4.2.2 says "the message is prefixed with a two byte length
//! field which gives the message length, excluding the two byte length
//! field"; adding and removing that prefix is the engine's job, as is
//! opening and closing the connection.

use std::fmt;

/// UDP or TCP, port 53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// One datagram per message; a reply larger than the requester's
    /// advertised size comes back truncated (TC=1).
    Udp,
    /// A stream; messages carry the two-byte length prefix on the wire,
    /// added and stripped by the engine.
    Tcp,
}

impl Transport {
    /// `UDP` or `TCP`, as dig prints it after `;; SERVER:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
