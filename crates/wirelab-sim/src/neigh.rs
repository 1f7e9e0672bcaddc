//! The neighbour tables of every interface: ARP (RFC 826) and IPv6
//! neighbour discovery (RFC 4861) caches, in one slab indexed by
//! (interface, address).
//!
//! A router on a large subnet talks to hundreds of neighbours, so entries
//! are found through a hash index rather than a scan. The index is never
//! iterated, so its order cannot reach any output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

use wirelab_net::{IfaceId, Mac};

use crate::engine::PacketId;

/// Packets held while a neighbour is being resolved (Linux unres_qlen).
pub const PENDING_MAX: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighState {
    Reachable(Mac),
    /// Being resolved: solicitations sent so far, and the waiting packets
    /// (oldest first).
    Incomplete {
        tries: u8,
        pending: [PacketId; PENDING_MAX],
        pending_len: u8,
    },
    /// Nobody answered; the next packet starts a new resolution.
    Failed,
}

impl NeighState {
    pub fn incomplete(first: PacketId) -> NeighState {
        NeighState::Incomplete {
            tries: 1,
            pending: [first, 0, 0],
            pending_len: 1,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Neigh {
    pub iface: IfaceId,
    pub addr: IpAddr,
    pub state: NeighState,
}

pub type NeighId = u32;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    iface: u32,
    addr: IpAddr,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (bits, v6) = match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 0),
            IpAddr::V6(a) => (u128::from(a), 1),
        };
        state.write_u64(bits as u64);
        state.write_u64((bits >> 64) as u64 ^ (u64::from(self.iface) << 1 | v6));
    }
}

/// A multiply-rotate hash (the FxHash construction) for the fixed-size
/// keys above: much cheaper than SipHash, and no hash-flooding concern for
/// addresses the lab author wrote.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
pub struct NeighTable {
    entries: Vec<Neigh>,
    index: HashMap<Key, NeighId, BuildHasherDefault<FastHasher>>,
}

impl NeighTable {
    pub fn find(&self, iface: IfaceId, addr: IpAddr) -> Option<NeighId> {
        self.index
            .get(&Key {
                iface: iface as u32,
                addr,
            })
            .copied()
    }

    pub fn insert(&mut self, iface: IfaceId, addr: IpAddr, state: NeighState) -> NeighId {
        let id = self.entries.len() as NeighId;
        self.entries.push(Neigh { iface, addr, state });
        self.index.insert(
            Key {
                iface: iface as u32,
                addr,
            },
            id,
        );
        id
    }

    pub fn get(&self, id: NeighId) -> &Neigh {
        &self.entries[id as usize]
    }

    pub fn get_mut(&mut self, id: NeighId) -> &mut Neigh {
        &mut self.entries[id as usize]
    }

    /// Every entry, in the order they were made.
    pub fn entries(&self) -> &[Neigh] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_interface_and_per_family() {
        let mut t = NeighTable::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let id = t.insert(3, a, NeighState::Failed);
        assert_eq!(t.find(3, a), Some(id));
        assert_eq!(t.find(4, a), None);
        assert_eq!(t.find(3, "::a00:1".parse().unwrap()), None);
        assert_eq!(t.find(3, "10.0.0.2".parse().unwrap()), None);
        t.clear();
        assert_eq!(t.find(3, a), None);
    }
}
