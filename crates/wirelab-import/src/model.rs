//! The cloud as read from AWS (or a Terraform plan), before it becomes a
//! lab: the objects and fields wirelab can represent, each with the place
//! it was read from, for warnings.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::json::Place;

/// Everything imported. Lists keep the order of the input.
#[derive(Debug, Default)]
pub struct Cloud {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub groups: Vec<Group>,
    pub nacls: Vec<Nacl>,
    /// `None`: the input had no route tables at all; every subnet then has
    /// only the local route.
    pub route_tables: Option<Vec<RouteTable>>,
    pub instances: Vec<Instance>,
    pub gateways: Vec<Gateway>,
    pub nats: Vec<NatGateway>,
    pub prefix_lists: BTreeMap<String, PrefixList>,
}

#[derive(Debug)]
pub struct Vpc {
    pub id: String,
    pub name: Option<String>,
    pub cidrs: Vec<Ipv4Net>,
    pub ipv6: Vec<Ipv6Net>,
    pub place: Place,
}

#[derive(Debug)]
pub struct Subnet {
    pub id: String,
    pub vpc: String,
    pub name: Option<String>,
    pub cidr: Option<Ipv4Net>,
    pub ipv6: Option<Ipv6Net>,
    pub place: Place,
}

#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub vpc: Option<String>,
    /// The Name tag, else the group name.
    pub name: Option<String>,
    pub group_name: Option<String>,
    pub description: Option<String>,
    pub inbound: Vec<SgRule>,
    pub outbound: Vec<SgRule>,
    pub place: Place,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Number(u8),
}

/// Ports of a rule, or ICMP type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ports {
    All,
    Range(u16, u16),
    Icmp { kind: Option<u8>, code: Option<u8> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    Net(IpNet),
    /// A security group, by id.
    Group(String),
    /// A managed prefix list, by id.
    PrefixList(String),
}

#[derive(Clone, Debug)]
pub struct SgRule {
    pub proto: Proto,
    pub ports: Ports,
    pub peer: Peer,
    pub description: Option<String>,
    pub place: Place,
}

#[derive(Debug)]
pub struct Nacl {
    pub id: String,
    pub vpc: Option<String>,
    pub name: Option<String>,
    pub is_default: bool,
    pub entries: Vec<NaclEntry>,
    pub subnets: Vec<String>,
    pub place: Place,
}

#[derive(Clone, Debug)]
pub struct NaclEntry {
    pub number: u32,
    pub egress: bool,
    pub allow: bool,
    pub proto: Proto,
    pub ports: Ports,
    pub cidr: IpNet,
    pub place: Place,
}

#[derive(Debug)]
pub struct RouteTable {
    pub id: String,
    pub vpc: Option<String>,
    pub name: Option<String>,
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
    pub place: Place,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Net(IpNet),
    PrefixList(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Local,
    /// An internet gateway or an egress-only internet gateway.
    Gateway(String),
    Nat(String),
    /// Anything wirelab does not simulate: what it is and its id.
    Other(&'static str, String),
}

#[derive(Clone, Debug)]
pub struct Route {
    pub dest: Dest,
    pub target: Target,
    pub blackhole: bool,
    pub place: Place,
}

#[derive(Debug)]
pub struct Instance {
    pub id: String,
    pub name: Option<String>,
    pub subnet: String,
    pub ip: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub groups: Vec<String>,
    /// The public IPv4 address, as text (a Terraform plan may only know
    /// that there will be one).
    pub public_ip: Option<String>,
    /// Said beside the address when the importer chose it.
    pub ip_note: Option<String>,
    pub place: Place,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayKind {
    Internet,
    EgressOnly,
}

#[derive(Debug)]
pub struct Gateway {
    pub id: String,
    pub kind: GatewayKind,
    pub name: Option<String>,
    pub vpcs: Vec<String>,
    pub place: Place,
}

#[derive(Debug)]
pub struct NatGateway {
    pub id: String,
    pub name: Option<String>,
    pub subnet: String,
    pub private_ip: Option<Ipv4Addr>,
    pub public_ip: Option<Ipv4Addr>,
    pub place: Place,
}

#[derive(Debug)]
pub struct PrefixList {
    pub id: String,
    pub name: Option<String>,
    /// `None`: the entries were not in the input.
    pub cidrs: Option<Vec<IpNet>>,
}

/// Reads a protocol as AWS and Terraform write it: a name, `-1`/`all`, or
/// an IANA number (as a string or a number).
pub(crate) fn parse_proto(text: &str) -> Option<Proto> {
    Some(match text.to_ascii_lowercase().as_str() {
        "-1" | "all" => Proto::All,
        "tcp" | "6" => Proto::Tcp,
        "udp" | "17" => Proto::Udp,
        "icmp" | "1" => Proto::Icmp,
        "icmpv6" | "58" => Proto::Icmpv6,
        other => Proto::Number(other.parse::<u8>().ok()?),
    })
}

/// Ports from AWS's FromPort/ToPort (-1: all; ICMP: type and code).
pub(crate) fn ports_of(
    proto: Proto,
    from: Option<i64>,
    to: Option<i64>,
    place: &Place,
    (from_field, to_field): (&str, &str),
) -> Result<Ports, crate::ImportError> {
    let byte = |v: Option<i64>, field: &str| -> Result<Option<u8>, crate::ImportError> {
        match v {
            None | Some(-1) => Ok(None),
            Some(n) => u8::try_from(n).map(Some).map_err(|_| {
                place
                    .at(field)
                    .error(format!("{n} is not an ICMP type or code (-1 or 0..=255)"))
            }),
        }
    };
    Ok(match proto {
        Proto::Tcp | Proto::Udp => match (from, to) {
            (None, None) | (Some(-1), _) | (_, Some(-1)) => Ports::All,
            (Some(a), b) => {
                let b = b.unwrap_or(a);
                let port = |n: i64, field: &str| {
                    u16::try_from(n).map_err(|_| {
                        place
                            .at(field)
                            .error(format!("{n} is not a port (0..=65535, or -1 for all)"))
                    })
                };
                let (a, b) = (port(a, from_field)?, port(b, to_field)?);
                if a > b {
                    return Err(place.error(format!("the port range {a}-{b} is empty")));
                }
                if (a, b) == (0, 65535) {
                    Ports::All
                } else {
                    Ports::Range(a, b)
                }
            }
            (None, Some(_)) => {
                return Err(place
                    .at(from_field)
                    .error(format!("missing ({to_field} is given)")))
            }
        },
        Proto::Icmp | Proto::Icmpv6 => {
            let kind = byte(from, from_field)?;
            let code = byte(to, to_field)?;
            if kind.is_none() && code.is_some() {
                return Err(place.at(to_field).error("an ICMP code needs a type"));
            }
            if kind.is_none() {
                Ports::All
            } else {
                Ports::Icmp { kind, code }
            }
        }
        Proto::All | Proto::Number(_) => Ports::All,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: (&str, &str) = ("FromPort", "ToPort");

    #[test]
    fn protocols_by_name_and_number() {
        assert_eq!(parse_proto("-1"), Some(Proto::All));
        assert_eq!(parse_proto("all"), Some(Proto::All));
        assert_eq!(parse_proto("TCP"), Some(Proto::Tcp));
        assert_eq!(parse_proto("6"), Some(Proto::Tcp));
        assert_eq!(parse_proto("58"), Some(Proto::Icmpv6));
        assert_eq!(parse_proto("47"), Some(Proto::Number(47)));
        assert_eq!(parse_proto("256"), None);
        assert_eq!(parse_proto("sctp"), None);
    }

    #[test]
    fn ports_as_aws_writes_them() {
        let p = Place::default();
        let ports = |proto, a, b| ports_of(proto, a, b, &p, NAMES);
        assert_eq!(
            ports(Proto::Tcp, Some(22), Some(22)).unwrap(),
            Ports::Range(22, 22)
        );
        assert_eq!(ports(Proto::Tcp, Some(0), Some(65535)).unwrap(), Ports::All);
        assert_eq!(ports(Proto::Udp, Some(-1), Some(-1)).unwrap(), Ports::All);
        assert_eq!(ports(Proto::Tcp, None, None).unwrap(), Ports::All);
        // -1 and a protocol without ports: every port, whatever the range says.
        assert_eq!(ports(Proto::All, Some(22), Some(22)).unwrap(), Ports::All);
        assert_eq!(
            ports(Proto::Number(47), Some(1), Some(2)).unwrap(),
            Ports::All
        );
        // ICMP: type and code.
        assert_eq!(
            ports(Proto::Icmp, Some(8), Some(-1)).unwrap(),
            Ports::Icmp {
                kind: Some(8),
                code: None
            }
        );
        assert_eq!(
            ports(Proto::Icmpv6, Some(-1), Some(-1)).unwrap(),
            Ports::All
        );
        // Mistakes name the field.
        let e = ports(Proto::Tcp, Some(70000), Some(70000))
            .unwrap_err()
            .to_string();
        assert!(e.contains("FromPort: 70000 is not a port"), "{e}");
        let e = ports(Proto::Tcp, Some(30), Some(20))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the port range 30-20 is empty"), "{e}");
        let e = ports(Proto::Icmp, Some(-1), Some(4))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ToPort: an ICMP code needs a type"), "{e}");
        let e = ports(Proto::Icmp, Some(300), None).unwrap_err().to_string();
        assert!(
            e.contains("FromPort: 300 is not an ICMP type or code"),
            "{e}"
        );
    }
}
