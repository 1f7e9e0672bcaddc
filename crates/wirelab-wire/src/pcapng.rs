//! A small pcapng writer (the PCAP Next Generation capture format,
//! draft-ietf-opsawg-pcapng): one Section Header Block, Interface
//! Description Blocks, Enhanced Packet Blocks. Little-endian, as the
//! byte-order magic of the section says; every block and option padded to
//! 32 bits.
//!
//! Only what a capture of a simulation needs is here: no Simple Packet
//! Blocks, no name resolution or statistics blocks, no compression.

use std::io::{self, Write};

const BLOCK_SECTION_HEADER: u32 = 0x0A0D_0D0A;
const BLOCK_INTERFACE_DESCRIPTION: u32 = 0x0000_0001;
const BLOCK_ENHANCED_PACKET: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const OPT_SHB_USERAPPL: u16 = 4;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_DESCRIPTION: u16 = 3;
const OPT_IF_TSRESOL: u16 = 9;

/// LINKTYPE_ETHERNET: frames start with the Ethernet header.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_PPP: frames start with the PPP protocol field (RFC 1661),
/// or with the HDLC-like address and control bytes `ff 03` before it
/// (RFC 1662); wirelab writes the former.
pub const LINKTYPE_PPP: u16 = 9;
/// Timestamps count nanoseconds (10^-9 s), the simulator's own unit.
pub const TSRESOL_NANOS: u8 = 9;
/// No frame is ever cut short.
const SNAPLEN_UNLIMITED: u32 = 0;

/// Writes one pcapng section to `W`. Interfaces must be added before the
/// packets that name them.
pub struct Writer<W: Write> {
    out: W,
    /// One block is assembled here, then written with one call.
    block: Vec<u8>,
    interfaces: u32,
}

impl<W: Write> Writer<W> {
    /// Starts a section; `application` goes into its `shb_userappl`.
    pub fn new(out: W, application: &str) -> io::Result<Self> {
        let mut w = Writer {
            out,
            block: Vec::with_capacity(256),
            interfaces: 0,
        };
        w.begin(BLOCK_SECTION_HEADER);
        w.put_u32(BYTE_ORDER_MAGIC);
        w.put_u16(1); // major version
        w.put_u16(0); // minor version
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        w.put_option(OPT_SHB_USERAPPL, application.as_bytes());
        w.end_options();
        w.finish()?;
        Ok(w)
    }

    /// Adds an Ethernet interface with nanosecond timestamps; returns its
    /// id for [`Writer::packet`].
    pub fn interface(&mut self, name: &str, description: Option<&str>) -> io::Result<u32> {
        self.interface_of(LINKTYPE_ETHERNET, name, description)
    }

    /// Adds an interface of the given link type (`LINKTYPE_*`) with
    /// nanosecond timestamps; returns its id for [`Writer::packet`].
    pub fn interface_of(
        &mut self,
        link_type: u16,
        name: &str,
        description: Option<&str>,
    ) -> io::Result<u32> {
        self.begin(BLOCK_INTERFACE_DESCRIPTION);
        self.put_u16(link_type);
        self.put_u16(0); // reserved
        self.put_u32(SNAPLEN_UNLIMITED);
        self.put_option(OPT_IF_NAME, name.as_bytes());
        if let Some(d) = description {
            self.put_option(OPT_IF_DESCRIPTION, d.as_bytes());
        }
        self.put_option(OPT_IF_TSRESOL, &[TSRESOL_NANOS]);
        self.end_options();
        self.finish()?;
        let id = self.interfaces;
        self.interfaces += 1;
        Ok(id)
    }

    /// Writes one frame seen on `interface` at `time_ns` nanoseconds,
    /// whole (captured length = original length).
    pub fn packet(
        &mut self,
        interface: u32,
        time_ns: u64,
        frame: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        assert!(
            interface < self.interfaces,
            "packet on interface {interface}, but only {} declared",
            self.interfaces
        );
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
        self.begin(BLOCK_ENHANCED_PACKET);
        self.put_u32(interface);
        self.put_u32((time_ns >> 32) as u32);
        self.put_u32(time_ns as u32);
        self.put_u32(len); // captured
        self.put_u32(len); // original
        self.block.extend_from_slice(frame);
        self.pad();
        if let Some(c) = comment {
            self.put_option(OPT_COMMENT, c.as_bytes());
            self.end_options();
        }
        self.finish()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn begin(&mut self, block_type: u32) {
        self.block.clear();
        self.put_u32(block_type);
        self.put_u32(0); // total length, set by `finish`
    }

    fn finish(&mut self) -> io::Result<()> {
        let total = self.block.len() + 4;
        debug_assert_eq!(total % 4, 0, "blocks are padded to 32 bits");
        let total = u32::try_from(total)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block over 4 GiB"))?;
        self.block[4..8].copy_from_slice(&total.to_le_bytes());
        self.put_u32(total);
        self.out.write_all(&self.block)
    }

    fn put_u16(&mut self, v: u16) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn put_u32(&mut self, v: u32) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn pad(&mut self) {
        let padded = self.block.len().next_multiple_of(4);
        self.block.resize(padded, 0);
    }

    /// An option: code, length, value padded to 32 bits. Values longer
    /// than an option can hold are cut at 65532 bytes (on a character
    /// boundary when they are text).
    fn put_option(&mut self, code: u16, value: &[u8]) {
        let mut len = value.len().min(0xfffc);
        if let Ok(text) = std::str::from_utf8(value) {
            while !text.is_char_boundary(len) {
                len -= 1;
            }
        }
        self.put_u16(code);
        self.put_u16(len as u16);
        self.block.extend_from_slice(&value[..len]);
        self.pad();
    }

    fn end_options(&mut self) {
        self.put_u16(OPT_END);
        self.put_u16(0);
    }
}

#[cfg(test)]
mod tests {
    use super::Writer;

    /// Every byte checked by hand against the block layouts of
    /// draft-ietf-opsawg-pcapng §4.1, §4.2 and §4.3.
    #[test]
    fn section_interface_and_packet_blocks() {
        let mut w = Writer::new(Vec::new(), "wl").unwrap();
        assert_eq!(w.interface("a", None).unwrap(), 0);
        w.packet(0, 0x1_0000_0002, &[0xaa, 0xbb, 0xcc], None)
            .unwrap();
        let bytes = w.into_inner();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            // Section Header Block, 40 bytes.
            0x0a, 0x0d, 0x0d, 0x0a, 0x28, 0, 0, 0,
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, // byte-order magic, version 1.0
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // section length unknown
            4, 0, 2, 0, b'w', b'l', 0, 0, // shb_userappl "wl", padded
            0, 0, 0, 0, // opt_endofopt
            0x28, 0, 0, 0,
            // Interface Description Block, 40 bytes.
            1, 0, 0, 0, 0x28, 0, 0, 0,
            1, 0, 0, 0, // LINKTYPE_ETHERNET, reserved
            0, 0, 0, 0, // snaplen: no limit
            2, 0, 1, 0, b'a', 0, 0, 0, // if_name "a", padded
            9, 0, 1, 0, 9, 0, 0, 0, // if_tsresol 9: nanoseconds
            0, 0, 0, 0,
            0x28, 0, 0, 0,
            // Enhanced Packet Block, 36 bytes.
            6, 0, 0, 0, 0x24, 0, 0, 0,
            0, 0, 0, 0, // interface 0
            1, 0, 0, 0, 2, 0, 0, 0, // timestamp high, low: 2^32 + 2 ns
            3, 0, 0, 0, 3, 0, 0, 0, // captured, original length
            0xaa, 0xbb, 0xcc, 0, // the frame, padded
            0x24, 0, 0, 0,
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_comment_is_an_option_of_the_packet() {
        let mut w = Writer::new(Vec::new(), "").unwrap();
        w.interface("a", Some("10.0.0.0/24")).unwrap();
        let before = w.out.len();
        w.packet(0, 5, &[1, 2, 3, 4], Some("hi!")).unwrap();
        let epb = &w.into_inner()[before..];
        // 28 fixed + 4 data + 8 comment + 4 end of options + 4 trailer.
        assert_eq!(epb.len(), 48);
        assert_eq!(&epb[32..44], &[1, 0, 3, 0, b'h', b'i', b'!', 0, 0, 0, 0, 0]);
        assert_eq!(&epb[4..8], &48u32.to_le_bytes());
        assert_eq!(&epb[44..], &48u32.to_le_bytes());
    }

    #[test]
    #[should_panic(expected = "only 0 declared")]
    fn a_packet_needs_its_interface_first() {
        let mut w = Writer::new(Vec::new(), "").unwrap();
        let _ = w.packet(0, 0, &[0; 60], None);
    }
}
