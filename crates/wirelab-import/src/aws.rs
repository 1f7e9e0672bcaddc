//! `aws ec2 describe-*` output, one JSON file per command, as the AWS CLI
//! prints it (`--output json`, the default). See docs/import.md for the
//! file names accepted.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::json::{parse, Node, Place};
use crate::model::*;
use crate::{ImportError, Warning};

/// The commands read, by the name after `describe-`; `true` when required.
pub const COMMANDS: &[(&str, bool)] = &[
    ("vpcs", true),
    ("subnets", true),
    ("security-groups", false),
    ("security-group-rules", false),
    ("network-acls", false),
    ("route-tables", false),
    ("instances", false),
    ("internet-gateways", false),
    ("egress-only-internet-gateways", false),
    ("nat-gateways", false),
    ("managed-prefix-lists", false),
];

/// One input file: its name (as shown in messages) and parsed JSON.
struct Input {
    name: String,
    json: serde_json::Value,
}

fn read_text(path: &Path, name: &str) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|e| ImportError::File {
        file: name.to_string(),
        message: format!("cannot read: {e}"),
    })
}

/// Finds `describe-KIND.json` or `KIND.json` in `dir`.
fn find(dir: &Path, kind: &str) -> Result<Option<Input>, ImportError> {
    let names = [format!("describe-{kind}.json"), format!("{kind}.json")];
    let present: Vec<&String> = names.iter().filter(|n| dir.join(n).is_file()).collect();
    match present.as_slice() {
        [] => Ok(None),
        [name] => {
            let shown = dir.join(name).display().to_string();
            let text = read_text(&dir.join(name), &shown)?;
            let json = parse(&shown, &text)?;
            Ok(Some(Input { name: shown, json }))
        }
        _ => Err(ImportError::File {
            file: dir.join(&names[0]).display().to_string(),
            message: format!("both {} and {} are present: keep one", names[0], names[1]),
        }),
    }
}

/// Reads every file of `dir` into a [`Cloud`].
pub fn read_dir(dir: &Path, warnings: &mut Vec<Warning>) -> Result<Cloud, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::File {
            file: dir.display().to_string(),
            message: "not a directory (give the folder holding the describe-*.json files)".into(),
        });
    }
    let mut inputs = BTreeMap::new();
    for (kind, required) in COMMANDS {
        match find(dir, kind)? {
            Some(input) => {
                inputs.insert(*kind, input);
            }
            None if *required => {
                return Err(ImportError::File {
                    file: format!("{}/describe-{kind}.json", dir.display()),
                    message: format!(
                        "missing: the output of `aws ec2 describe-{kind}` is required (as describe-{kind}.json or {kind}.json)"
                    ),
                })
            }
            None => {}
        }
    }
    let mut cloud = Cloud::default();
    let doc = |kind: &str| inputs.get(kind).map(|i| Node::root(&i.name, &i.json));
    if let Some(root) = doc("managed-prefix-lists") {
        read_prefix_lists(dir, &root, &mut cloud)?;
    }
    for node in doc("vpcs").expect("required").objects("Vpcs")? {
        cloud.vpcs.push(read_vpc(&node)?);
    }
    for node in doc("subnets").expect("required").objects("Subnets")? {
        cloud.subnets.push(read_subnet(&node, warnings)?);
    }
    if let Some(root) = doc("security-groups") {
        for node in root.objects("SecurityGroups")? {
            cloud.groups.push(read_group(&node, warnings)?);
        }
    }
    if let Some(root) = doc("security-group-rules") {
        read_group_rules(&root, &mut cloud)?;
    }
    if let Some(root) = doc("network-acls") {
        for node in root.objects("NetworkAcls")? {
            cloud.nacls.push(read_nacl(&node, warnings)?);
        }
    }
    if let Some(root) = doc("route-tables") {
        let mut tables = Vec::new();
        for node in root.objects("RouteTables")? {
            tables.push(read_route_table(&node, warnings)?);
        }
        cloud.route_tables = Some(tables);
    }
    if let Some(root) = doc("instances") {
        for reservation in root.objects("Reservations")? {
            for node in reservation.list("Instances")? {
                let object = format!("{}.{}", reservation.object, node.path);
                if let Some(i) = read_instance(&node.as_object(object), warnings)? {
                    cloud.instances.push(i);
                }
            }
        }
    }
    if let Some(root) = doc("internet-gateways") {
        for node in root.objects("InternetGateways")? {
            let id = node.str("InternetGatewayId")?;
            let node = node.as_object(format!("{} ({id})", node.object));
            cloud
                .gateways
                .push(read_gateway(&node, id, GatewayKind::Internet)?);
        }
    }
    if let Some(root) = doc("egress-only-internet-gateways") {
        for node in root.objects("EgressOnlyInternetGateways")? {
            let id = node.str("EgressOnlyInternetGatewayId")?;
            let node = node.as_object(format!("{} ({id})", node.object));
            cloud
                .gateways
                .push(read_gateway(&node, id, GatewayKind::EgressOnly)?);
        }
    }
    if let Some(root) = doc("nat-gateways") {
        for node in root.objects("NatGateways")? {
            if let Some(nat) = read_nat(&node, warnings)? {
                cloud.nats.push(nat);
            }
        }
    }
    Ok(cloud)
}

/// The value of the `Name` tag.
fn name_tag(node: &Node) -> Result<Option<String>, ImportError> {
    for tag in node.list("Tags")? {
        if tag.str("Key")? == "Name" {
            return Ok(tag.opt_str("Value")?.map(str::to_string));
        }
    }
    Ok(None)
}

pub(crate) fn v4_net(node: &Node) -> Result<Ipv4Net, ImportError> {
    let text = node.as_str()?;
    text.parse::<Ipv4Net>()
        .map(|n| n.trunc())
        .map_err(|_| node.error(format!("{text:?} is not an IPv4 prefix")))
}

pub(crate) fn v6_net(node: &Node) -> Result<Ipv6Net, ImportError> {
    let text = node.as_str()?;
    text.parse::<Ipv6Net>()
        .map(|n| n.trunc())
        .map_err(|_| node.error(format!("{text:?} is not an IPv6 prefix")))
}

fn v4_addr(node: &Node) -> Result<Ipv4Addr, ImportError> {
    let text = node.as_str()?;
    text.parse()
        .map_err(|_| node.error(format!("{text:?} is not an IPv4 address")))
}

fn v6_addr(node: &Node) -> Result<Ipv6Addr, ImportError> {
    let text = node.as_str()?;
    text.parse()
        .map_err(|_| node.error(format!("{text:?} is not an IPv6 address")))
}

/// An association set entry counts unless its state says it is gone.
fn associated(node: &Node, state_key: &str) -> Result<bool, ImportError> {
    Ok(match node.get(state_key)? {
        Some(s) => !matches!(
            s.opt_str("State")?,
            Some("disassociated" | "disassociating" | "failed" | "failing")
        ),
        None => true,
    })
}

fn read_vpc(node: &Node) -> Result<Vpc, ImportError> {
    let id = node.str("VpcId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    let mut cidrs = Vec::new();
    if let Some(c) = node.get("CidrBlock")? {
        cidrs.push(v4_net(&c)?);
    }
    for a in node.list("CidrBlockAssociationSet")? {
        if associated(&a, "CidrBlockState")? {
            let net = v4_net(&a.req("CidrBlock")?)?;
            if !cidrs.contains(&net) {
                cidrs.push(net);
            }
        }
    }
    let mut ipv6 = Vec::new();
    for a in node.list("Ipv6CidrBlockAssociationSet")? {
        if associated(&a, "Ipv6CidrBlockState")? {
            if let Some(c) = a.get("Ipv6CidrBlock")? {
                ipv6.push(v6_net(&c)?);
            }
        }
    }
    Ok(Vpc {
        id: id.to_string(),
        name: name_tag(&node)?,
        cidrs,
        ipv6,
        place: node.place(),
    })
}

fn read_subnet(node: &Node, warnings: &mut Vec<Warning>) -> Result<Subnet, ImportError> {
    let id = node.str("SubnetId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    let cidr = node.get("CidrBlock")?.map(|c| v4_net(&c)).transpose()?;
    let mut ipv6 = None;
    for a in node.list("Ipv6CidrBlockAssociationSet")? {
        if associated(&a, "Ipv6CidrBlockState")? {
            let net = v6_net(&a.req("Ipv6CidrBlock")?)?;
            if ipv6.is_none() {
                ipv6 = Some(net);
            } else {
                warnings.push(Warning::at(
                    &a.place(),
                    format!("a second IPv6 prefix ({net}) is not imported: a wirelab network has one prefix per family"),
                ));
            }
        }
    }
    if cidr.is_none() && ipv6.is_none() {
        return Err(node.error("the subnet has neither CidrBlock nor an IPv6 prefix"));
    }
    Ok(Subnet {
        id: id.to_string(),
        vpc: node.str("VpcId")?.to_string(),
        name: name_tag(&node)?,
        cidr,
        ipv6,
        place: node.place(),
    })
}

fn proto_of(node: &Node) -> Result<Proto, ImportError> {
    let proto = match node.value {
        serde_json::Value::Number(_) => node.as_i64()?.to_string(),
        _ => node.as_str()?.to_string(),
    };
    parse_proto(&proto).ok_or_else(|| {
        node.error(format!(
            "unknown protocol {proto:?} (tcp, udp, icmp, icmpv6, -1 for all, or a number 0..=255)"
        ))
    })
}

fn read_group(node: &Node, warnings: &mut Vec<Warning>) -> Result<Group, ImportError> {
    let id = node.str("GroupId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    let mut group = Group {
        id: id.to_string(),
        vpc: node.opt_str("VpcId")?.map(str::to_string),
        name: name_tag(&node)?,
        group_name: node.opt_str("GroupName")?.map(str::to_string),
        description: node.opt_str("Description")?.map(str::to_string),
        inbound: Vec::new(),
        outbound: Vec::new(),
        place: node.place(),
    };
    for (key, out) in [("IpPermissions", false), ("IpPermissionsEgress", true)] {
        for perm in node.list(key)? {
            let rules = read_permission(&perm, warnings)?;
            if out {
                group.outbound.extend(rules);
            } else {
                group.inbound.extend(rules);
            }
        }
    }
    Ok(group)
}

/// One `IpPermission`: a protocol and ports for a list of peers, split into
/// one rule per peer.
fn read_permission(perm: &Node, warnings: &mut Vec<Warning>) -> Result<Vec<SgRule>, ImportError> {
    let proto = proto_of(&perm.req("IpProtocol")?)?;
    let ports = ports_of(
        proto,
        perm.opt_i64("FromPort")?,
        perm.opt_i64("ToPort")?,
        &perm.place(),
        ("FromPort", "ToPort"),
    )?;
    let mut rules = Vec::new();
    let mut push = |peer: Peer, n: &Node| -> Result<(), ImportError> {
        rules.push(SgRule {
            proto,
            ports,
            peer,
            description: n.opt_str("Description")?.map(str::to_string),
            place: n.place(),
        });
        Ok(())
    };
    for r in perm.list("IpRanges")? {
        push(Peer::Net(IpNet::V4(v4_net(&r.req("CidrIp")?)?)), &r)?;
    }
    for r in perm.list("Ipv6Ranges")? {
        push(Peer::Net(IpNet::V6(v6_net(&r.req("CidrIpv6")?)?)), &r)?;
    }
    for r in perm.list("UserIdGroupPairs")? {
        push(Peer::Group(r.str("GroupId")?.to_string()), &r)?;
    }
    for r in perm.list("PrefixListIds")? {
        push(Peer::PrefixList(r.str("PrefixListId")?.to_string()), &r)?;
    }
    if rules.is_empty() {
        warnings.push(Warning::at(
            &perm.place(),
            "a permission without IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds matches nothing; not imported",
        ));
    }
    Ok(rules)
}

/// `describe-security-group-rules`: when present, its rules replace the
/// groups' `IpPermissions` (same rules, one peer each).
fn read_group_rules(root: &Node, cloud: &mut Cloud) -> Result<(), ImportError> {
    let mut replaced = std::collections::BTreeSet::new();
    for node in root.objects("SecurityGroupRules")? {
        let rule_id = node.opt_str("SecurityGroupRuleId")?.unwrap_or("?");
        let node = node.as_object(format!("{} ({rule_id})", node.object));
        let group_id = node.str("GroupId")?;
        let egress = node.req("IsEgress")?.as_bool()?;
        let proto = proto_of(&node.req("IpProtocol")?)?;
        let ports = ports_of(
            proto,
            node.opt_i64("FromPort")?,
            node.opt_i64("ToPort")?,
            &node.place(),
            ("FromPort", "ToPort"),
        )?;
        let peer = if let Some(c) = node.get("CidrIpv4")? {
            Peer::Net(IpNet::V4(v4_net(&c)?))
        } else if let Some(c) = node.get("CidrIpv6")? {
            Peer::Net(IpNet::V6(v6_net(&c)?))
        } else if let Some(p) = node.opt_str("PrefixListId")? {
            Peer::PrefixList(p.to_string())
        } else if let Some(g) = node.get("ReferencedGroupInfo")? {
            Peer::Group(g.str("GroupId")?.to_string())
        } else {
            return Err(node.error(
                "no peer: one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupInfo is required",
            ));
        };
        let rule = SgRule {
            proto,
            ports,
            peer,
            description: node.opt_str("Description")?.map(str::to_string),
            place: node.place(),
        };
        let index = match cloud.groups.iter().position(|g| g.id == group_id) {
            Some(i) => i,
            None => {
                cloud.groups.push(Group {
                    id: group_id.to_string(),
                    vpc: None,
                    name: None,
                    group_name: None,
                    description: None,
                    inbound: Vec::new(),
                    outbound: Vec::new(),
                    place: node.place(),
                });
                cloud.groups.len() - 1
            }
        };
        let group = &mut cloud.groups[index];
        if replaced.insert(group_id.to_string()) {
            group.inbound.clear();
            group.outbound.clear();
        }
        if egress {
            group.outbound.push(rule);
        } else {
            group.inbound.push(rule);
        }
    }
    Ok(())
}

fn read_nacl(node: &Node, warnings: &mut Vec<Warning>) -> Result<Nacl, ImportError> {
    let id = node.str("NetworkAclId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    let mut entries = Vec::new();
    for e in node.list("Entries")? {
        let number = e.req("RuleNumber")?;
        let n = number.as_i64()?;
        if n == 32767 || n == 32768 {
            continue; // the `*` rule: implicit in wirelab
        }
        let Ok(n) = u32::try_from(n) else {
            return Err(number.error(format!("{n} is not a rule number")));
        };
        if !(1..=32766).contains(&n) {
            warnings.push(Warning::at(
                &e.place(),
                format!("rule number {n} is outside 1..=32766; not imported"),
            ));
            continue;
        }
        let proto = proto_of(&e.req("Protocol")?)?;
        let action = e.req("RuleAction")?;
        let allow = match action.as_str()? {
            "allow" => true,
            "deny" => false,
            other => return Err(action.error(format!("{other:?} is not allow or deny"))),
        };
        let cidr = if let Some(c) = e.get("CidrBlock")? {
            IpNet::V4(v4_net(&c)?)
        } else if let Some(c) = e.get("Ipv6CidrBlock")? {
            IpNet::V6(v6_net(&c)?)
        } else {
            return Err(Place {
                field: crate::json::join(&e.path, "CidrBlock"),
                ..e.place()
            }
            .error("missing (or Ipv6CidrBlock)"));
        };
        let ports = match proto {
            Proto::Icmp | Proto::Icmpv6 => match e.get("IcmpTypeCode")? {
                Some(t) => ports_of(
                    proto,
                    t.opt_i64("Type")?,
                    t.opt_i64("Code")?,
                    &t.place(),
                    ("Type", "Code"),
                )?,
                None => Ports::All,
            },
            _ => match e.get("PortRange")? {
                Some(r) => ports_of(
                    proto,
                    r.opt_i64("From")?,
                    r.opt_i64("To")?,
                    &r.place(),
                    ("From", "To"),
                )?,
                None => Ports::All,
            },
        };
        entries.push(NaclEntry {
            number: n,
            egress: e.req("Egress")?.as_bool()?,
            allow,
            proto,
            ports,
            cidr,
            place: e.place(),
        });
    }
    let mut subnets = Vec::new();
    for a in node.list("Associations")? {
        subnets.push(a.str("SubnetId")?.to_string());
    }
    Ok(Nacl {
        id: id.to_string(),
        vpc: node.opt_str("VpcId")?.map(str::to_string),
        name: name_tag(&node)?,
        is_default: node.opt_bool("IsDefault")?.unwrap_or(false),
        entries,
        subnets,
        place: node.place(),
    })
}

fn read_route_table(node: &Node, warnings: &mut Vec<Warning>) -> Result<RouteTable, ImportError> {
    let id = node.str("RouteTableId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    let mut main = false;
    let mut subnets = Vec::new();
    for a in node.list("Associations")? {
        if a.opt_bool("Main")?.unwrap_or(false) {
            main = true;
        }
        if let Some(s) = a.opt_str("SubnetId")? {
            subnets.push(s.to_string());
        } else if let Some(g) = a.opt_str("GatewayId")? {
            warnings.push(Warning::at(
                &a.place(),
                format!("the edge association with {g} (a gateway route table) is not simulated: traffic from the gateway into the VPC follows the local route"),
            ));
        }
    }
    let mut routes = Vec::new();
    for r in node.list("Routes")? {
        routes.push(read_route(&r)?);
    }
    Ok(RouteTable {
        id: id.to_string(),
        vpc: node.opt_str("VpcId")?.map(str::to_string),
        name: name_tag(&node)?,
        main,
        subnets,
        routes,
        place: node.place(),
    })
}

fn read_route(r: &Node) -> Result<Route, ImportError> {
    let dest = if let Some(c) = r.get("DestinationCidrBlock")? {
        Dest::Net(IpNet::V4(v4_net(&c)?))
    } else if let Some(c) = r.get("DestinationIpv6CidrBlock")? {
        Dest::Net(IpNet::V6(v6_net(&c)?))
    } else if let Some(p) = r.opt_str("DestinationPrefixListId")? {
        Dest::PrefixList(p.to_string())
    } else {
        return Err(Place {
            field: crate::json::join(&r.path, "DestinationCidrBlock"),
            ..r.place()
        }
        .error("missing (or DestinationIpv6CidrBlock, DestinationPrefixListId)"));
    };
    let target = route_target(r)?;
    let blackhole = match r.opt_str("State")? {
        None | Some("active") => false,
        Some("blackhole") => true,
        Some(other) => {
            return Err(r
                .req("State")?
                .error(format!("{other:?} is not active or blackhole")))
        }
    };
    Ok(Route {
        dest,
        target,
        blackhole,
        place: r.place(),
    })
}

fn route_target(r: &Node) -> Result<Target, ImportError> {
    if let Some(n) = r.opt_str("NatGatewayId")? {
        return Ok(Target::Nat(n.to_string()));
    }
    if let Some(g) = r.opt_str("EgressOnlyInternetGatewayId")? {
        return Ok(Target::Gateway(g.to_string()));
    }
    if let Some(g) = r.opt_str("GatewayId")? {
        return Ok(match g {
            "local" => Target::Local,
            g if g.starts_with("igw-") => Target::Gateway(g.to_string()),
            g if g.starts_with("vgw-") => {
                Target::Other("a virtual private gateway (VPN)", g.into())
            }
            g if g.starts_with("vpce-") => Target::Other("a VPC endpoint", g.into()),
            g => Target::Other("a gateway", g.into()),
        });
    }
    let others = [
        ("TransitGatewayId", "a transit gateway"),
        ("VpcPeeringConnectionId", "a VPC peering connection"),
        ("InstanceId", "an instance (a middlebox)"),
        ("NetworkInterfaceId", "a network interface (a middlebox)"),
        ("CarrierGatewayId", "a carrier gateway"),
        ("LocalGatewayId", "a local gateway"),
        ("CoreNetworkArn", "a Cloud WAN core network"),
    ];
    for (key, what) in others {
        if let Some(id) = r.opt_str(key)? {
            return Ok(Target::Other(what, id.to_string()));
        }
    }
    // A blackhole route whose target was deleted may name nothing.
    Ok(Target::Other("nothing", "no target".into()))
}

fn read_instance(
    node: &Node,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Instance>, ImportError> {
    let id = node.str("InstanceId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    if let Some(state) = node.get("State")? {
        if let Some(s @ ("terminated" | "shutting-down")) = state.opt_str("Name")? {
            warnings.push(Warning::at(
                &node.place(),
                format!("the instance is {s}; not imported"),
            ));
            return Ok(None);
        }
    }
    let Some(subnet) = node.opt_str("SubnetId")? else {
        warnings.push(Warning::at(
            &node.place(),
            "no SubnetId (not in a VPC); not imported",
        ));
        return Ok(None);
    };
    let ip = node
        .get("PrivateIpAddress")?
        .map(|n| v4_addr(&n))
        .transpose()?;
    let public_ip = node
        .get("PublicIpAddress")?
        .map(|n| v4_addr(&n))
        .transpose()?;
    let mut groups = Vec::new();
    for g in node.list("SecurityGroups")? {
        groups.push(g.str("GroupId")?.to_string());
    }
    let mut ipv6 = None;
    let interfaces = node.list("NetworkInterfaces")?;
    for (i, eni) in interfaces.iter().enumerate() {
        let index = match eni.get("Attachment")? {
            Some(a) => a.opt_i64("DeviceIndex")?.unwrap_or(i as i64),
            None => i as i64,
        };
        if index != 0 {
            warnings.push(Warning::at(
                &eni.place(),
                format!(
                    "a secondary network interface (device {index}) is not imported: a wirelab host has one interface"
                ),
            ));
            continue;
        }
        for a in eni.list("Ipv6Addresses")? {
            let addr = v6_addr(&a.req("Ipv6Address")?)?;
            if ipv6.is_none() {
                ipv6 = Some(addr);
            } else {
                warnings.push(Warning::at(
                    &a.place(),
                    format!("a second IPv6 address ({addr}) is not imported: a wirelab host has one per family"),
                ));
            }
        }
        if groups.is_empty() {
            for g in eni.list("Groups")? {
                groups.push(g.str("GroupId")?.to_string());
            }
        }
    }
    if ip.is_none() && ipv6.is_none() {
        warnings.push(Warning::at(
            &node.place(),
            "no private address (PrivateIpAddress nor an IPv6 address); not imported",
        ));
        return Ok(None);
    }
    Ok(Some(Instance {
        id: id.to_string(),
        name: name_tag(&node)?,
        subnet: subnet.to_string(),
        ip,
        ipv6,
        groups,
        public_ip: public_ip.map(|p| p.to_string()),
        ip_note: None,
        place: node.place(),
    }))
}

fn read_gateway(node: &Node, id: &str, kind: GatewayKind) -> Result<Gateway, ImportError> {
    let mut vpcs = Vec::new();
    for a in node.list("Attachments")? {
        if !matches!(a.opt_str("State")?, Some("detached" | "detaching")) {
            vpcs.push(a.str("VpcId")?.to_string());
        }
    }
    Ok(Gateway {
        id: id.to_string(),
        kind,
        name: name_tag(node)?,
        vpcs,
        place: node.place(),
    })
}

fn read_nat(node: &Node, warnings: &mut Vec<Warning>) -> Result<Option<NatGateway>, ImportError> {
    let id = node.str("NatGatewayId")?;
    let node = node.as_object(format!("{} ({id})", node.object));
    if let Some(s @ ("deleted" | "deleting" | "failed")) = node.opt_str("State")? {
        warnings.push(Warning::at(
            &node.place(),
            format!("the NAT gateway is {s}; not imported"),
        ));
        return Ok(None);
    }
    let mut private_ip = None;
    let mut public_ip = None;
    for a in node.list("NatGatewayAddresses")? {
        if private_ip.is_none() {
            private_ip = a.get("PrivateIp")?.map(|n| v4_addr(&n)).transpose()?;
            public_ip = a.get("PublicIp")?.map(|n| v4_addr(&n)).transpose()?;
        }
    }
    Ok(Some(NatGateway {
        id: id.to_string(),
        name: name_tag(&node)?,
        subnet: node.str("SubnetId")?.to_string(),
        private_ip,
        public_ip,
        place: node.place(),
    }))
}

/// `describe-managed-prefix-lists` names the lists; each list's entries
/// come from `get-managed-prefix-list-entries --prefix-list-id ID`, saved
/// as `prefix-list-entries/ID.json` or `get-managed-prefix-list-entries-ID.json`.
fn read_prefix_lists(dir: &Path, root: &Node, cloud: &mut Cloud) -> Result<(), ImportError> {
    for node in root.objects("PrefixLists")? {
        let id = node.str("PrefixListId")?;
        let node = node.as_object(format!("{} ({id})", node.object));
        let candidates = [
            format!("prefix-list-entries/{id}.json"),
            format!("get-managed-prefix-list-entries-{id}.json"),
        ];
        let mut cidrs = None;
        if let Some(name) = candidates.iter().find(|c| dir.join(c).is_file()) {
            let shown = dir.join(name).display().to_string();
            let text = read_text(&dir.join(name), &shown)?;
            let json = parse(&shown, &text)?;
            let root = Node::root(&shown, &json);
            let mut list = Vec::new();
            for e in root.objects("Entries")? {
                let c = e.req("Cidr")?;
                let text = c.as_str()?;
                let net: IpNet = text
                    .parse()
                    .map_err(|_| c.error(format!("{text:?} is not a prefix")))?;
                list.push(net.trunc());
            }
            cidrs = Some(list);
        }
        cloud.prefix_lists.insert(
            id.to_string(),
            PrefixList {
                id: id.to_string(),
                name: node.opt_str("PrefixListName")?.map(str::to_string),
                cidrs,
            },
        );
    }
    Ok(())
}
