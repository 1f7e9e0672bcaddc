//! Addresses and prefixes as written in a lab file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Parses `A/LEN`. Host bits are kept (see [`host_bits_set`]).
pub fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let Some((addr, len)) = text.split_once('/') else {
        return Err(match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => format!("`{text}` is an address, not a prefix: write it as `{text}/24` (or the length you mean)"),
            Ok(IpAddr::V6(_)) => format!("`{text}` is an address, not a prefix: write it as `{text}/64` (or the length you mean)"),
            Err(_) => format!("`{text}` is not an IP prefix (like `10.0.1.0/24` or `2001:db8::/64`)"),
        });
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Err(format!(
            "invalid prefix `{text}`: `{addr}` is not an IP address"
        ));
    };
    let Ok(len) = len.parse::<u8>() else {
        return Err(format!(
            "invalid prefix `{text}`: `{len}` is not a prefix length"
        ));
    };
    match addr {
        IpAddr::V4(a) => Ipv4Net::new(a, len)
            .map(IpNet::V4)
            .map_err(|_| format!("invalid prefix `{text}`: an IPv4 prefix length is at most 32")),
        IpAddr::V6(a) => Ipv6Net::new(a, len)
            .map(IpNet::V6)
            .map_err(|_| format!("invalid prefix `{text}`: an IPv6 prefix length is at most 128")),
    }
}

/// `Some(canonical)` when the prefix has bits set after its length
/// (`10.0.1.5/24` → `10.0.1.0/24`).
pub fn host_bits_set(net: IpNet) -> Option<IpNet> {
    let canonical = net.trunc();
    (canonical != net).then_some(canonical)
}

/// A peer or NACL `cidr`: a prefix, or a bare address meaning that one
/// address (`/32`, `/128`).
pub fn parse_prefix_or_address(text: &str) -> Result<IpNet, String> {
    if !text.contains('/') {
        if let Ok(addr) = text.trim().parse::<IpAddr>() {
            return Ok(IpNet::from(addr));
        }
    }
    parse_prefix(text)
}

/// Why an address cannot be a node's address in `net`, if it cannot.
pub fn check_v4_in(addr: Ipv4Addr, net: Ipv4Net) -> Result<(), String> {
    if !net.contains(&addr) {
        return Err(format!("`{addr}` is not inside `{net}`"));
    }
    if net.prefix_len() <= 30 {
        if addr == net.network() {
            return Err(format!("`{addr}` is the network address of `{net}`"));
        }
        if addr == net.broadcast() {
            return Err(format!("`{addr}` is the broadcast address of `{net}`"));
        }
    }
    Ok(())
}

pub fn check_v6_in(addr: Ipv6Addr, net: Ipv6Net) -> Result<(), String> {
    if !net.contains(&addr) {
        return Err(format!("`{addr}` is not inside `{net}`"));
    }
    Ok(())
}

/// The usable IPv4 addresses of a prefix, as integers: all but the network
/// and broadcast addresses, except on /31 (RFC 3021) and /32.
pub fn usable_v4(net: Ipv4Net) -> (u32, u32) {
    let (first, last) = (u32::from(net.network()), u32::from(net.broadcast()));
    if net.prefix_len() <= 30 {
        (first + 1, last - 1)
    } else {
        (first, last)
    }
}

/// The IPv6 addresses handed out automatically: from `prefix::1` (or the
/// only address of a /128) up to the last one.
pub fn usable_v6(net: Ipv6Net) -> (u128, u128) {
    let (first, last) = (u128::from(net.network()), u128::from(net.broadcast()));
    if net.prefix_len() < 128 {
        (first + 1, last)
    } else {
        (first, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            parse_prefix("10.0.1.0/24"),
            Ok("10.0.1.0/24".parse().unwrap())
        );
        assert_eq!(
            parse_prefix("2001:db8::/64"),
            Ok("2001:db8::/64".parse().unwrap())
        );
        let error = parse_prefix("10.0.1.0/33").unwrap_err();
        assert!(
            error.contains("`10.0.1.0/33`") && error.contains("at most 32"),
            "{error}"
        );
        assert!(parse_prefix("2001:db8::/129")
            .unwrap_err()
            .contains("at most 128"));
        assert!(parse_prefix("10.0.1.0")
            .unwrap_err()
            .contains("not a prefix"));
        assert!(parse_prefix("10.0.1/24")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(parse_prefix("10.0.1.0/x")
            .unwrap_err()
            .contains("prefix length"));
        assert!(parse_prefix("web").is_err());
    }

    #[test]
    fn host_bits() {
        let net = parse_prefix("10.0.1.5/24").unwrap();
        assert_eq!(host_bits_set(net), Some("10.0.1.0/24".parse().unwrap()));
        assert_eq!(host_bits_set(parse_prefix("10.0.1.0/24").unwrap()), None);
    }

    #[test]
    fn bare_addresses_are_single_host_prefixes() {
        assert_eq!(
            parse_prefix_or_address("10.0.0.7"),
            Ok("10.0.0.7/32".parse().unwrap())
        );
        assert_eq!(
            parse_prefix_or_address("2001:db8::7"),
            Ok("2001:db8::7/128".parse().unwrap())
        );
    }

    #[test]
    fn addresses_in_prefixes() {
        let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        assert!(check_v4_in("10.0.0.10".parse().unwrap(), net).is_ok());
        let error = check_v4_in("10.0.1.10".parse().unwrap(), net).unwrap_err();
        assert_eq!(error, "`10.0.1.10` is not inside `10.0.0.0/24`");
        assert!(check_v4_in("10.0.0.0".parse().unwrap(), net)
            .unwrap_err()
            .contains("network address"));
        assert!(check_v4_in("10.0.0.255".parse().unwrap(), net)
            .unwrap_err()
            .contains("broadcast"));
        let p2p: Ipv4Net = "10.0.12.0/31".parse().unwrap();
        assert!(check_v4_in("10.0.12.0".parse().unwrap(), p2p).is_ok());
        assert_eq!(
            usable_v4(p2p),
            (u32::from(p2p.network()), u32::from(p2p.broadcast()))
        );
    }
}
