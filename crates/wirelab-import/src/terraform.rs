//! `terraform show -json` of a plan (`planned_values`) or of a state
//! (`values`): the AWS resources of the root module and every child
//! module, into the same [`Cloud`] as the AWS CLI's JSON.
//!
//! A plan does not know what AWS assigns at apply time (ids, some
//! addresses). References between resources are therefore followed
//! through the plan's `configuration` section: an attribute whose value is
//! unknown is resolved from its expression's `references`
//! (`aws_vpc.main.id` → the resource `aws_vpc.main`). A resource's id is
//! its `id` when known, else its address. See docs/import.md.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::{IpNet, Ipv4Net};
use serde_json::Value;

use crate::aws::{v4_net, v6_net};
use crate::json::{parse, Node, Place};
use crate::model::*;
use crate::{ImportError, Warning};

/// One managed resource of the plan.
struct Res<'a> {
    address: String,
    kind: String,
    /// `module.a.module.b` or empty.
    module: String,
    /// The address inside its module, without an index (`aws_vpc.main`).
    local: String,
    index: Option<Value>,
    values: Node<'a>,
    /// Its `expressions` in the configuration, when found.
    expressions: Option<&'a Value>,
}

pub fn read_file(path: &Path, warnings: &mut Vec<Warning>) -> Result<Cloud, ImportError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::File {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let json = parse(&file, &text)?;
    let root = Node::root(&file, &json);
    let module = if let Some(p) = root.get("planned_values")? {
        p.req("root_module")?
    } else if let Some(v) = root.get("values")? {
        v.req("root_module")?
    } else {
        return Err(ImportError::File {
            file,
            message: "neither planned_values nor values: not the output of `terraform show -json`"
                .into(),
        });
    };
    let config = json.get("configuration").and_then(|c| c.get("root_module"));
    let mut resources = Vec::new();
    let mut modules = BTreeMap::new();
    collect(&module, config, &mut resources, &mut modules)?;
    let mut reader = Reader {
        resources: &resources,
        modules: &modules,
        ids: BTreeMap::new(),
        warnings,
        cloud: Cloud {
            route_tables: Some(Vec::new()),
            ..Cloud::default()
        },
    };
    for r in &resources {
        let id = match r.values.opt_str("id") {
            Ok(Some(id)) => id.to_string(),
            _ => r.address.clone(),
        };
        reader.ids.insert(r.address.clone(), id);
    }
    reader.read_all()?;
    Ok(reader.cloud)
}

/// The module's resources and its children's, with their configuration.
fn collect<'a>(
    module: &Node<'a>,
    config: Option<&'a Value>,
    out: &mut Vec<Res<'a>>,
    modules: &mut BTreeMap<String, Call<'a>>,
) -> Result<(), ImportError> {
    let prefix = module.opt_str("address")?.unwrap_or("").to_string();
    for r in module.list("resources")? {
        if r.opt_str("mode")? == Some("data") {
            continue;
        }
        let address = r.str("address")?.to_string();
        let kind = r.str("type")?.to_string();
        let name = r.str("name")?;
        let local = format!("{kind}.{name}");
        let expressions = config
            .and_then(|c| c.get("resources"))
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|c| c.get("address").and_then(Value::as_str) == Some(&local))
            })
            .and_then(|c| c.get("expressions"));
        let values = match r.get("values")? {
            Some(v) => v.as_object(address.clone()),
            None => continue,
        };
        out.push(Res {
            address,
            kind,
            module: prefix.clone(),
            local,
            index: r.value.get("index").cloned(),
            values,
            expressions,
        });
    }
    for child in module.list("child_modules")? {
        let address = child.str("address")?;
        // `module.a.module.b` → the call `b` inside the call `a`.
        let call = address
            .rsplit("module.")
            .next()
            .unwrap_or("")
            .trim_end_matches('.');
        let call = call.split('[').next().unwrap_or(call);
        let call_config = config
            .and_then(|c| c.get("module_calls"))
            .and_then(|m| m.get(call));
        modules.insert(
            address.to_string(),
            Call {
                parent: prefix.clone(),
                inputs: call_config.and_then(|c| c.get("expressions")),
            },
        );
        collect(
            &child,
            call_config.and_then(|m| m.get("module")),
            out,
            modules,
        )?;
    }
    Ok(())
}

/// A module call: the module it is called from and its input expressions,
/// to follow `var.x` out of the module.
struct Call<'a> {
    parent: String,
    inputs: Option<&'a Value>,
}

struct Reader<'a, 'w> {
    resources: &'a [Res<'a>],
    modules: &'a BTreeMap<String, Call<'a>>,
    /// address → id
    ids: BTreeMap<String, String>,
    warnings: &'w mut Vec<Warning>,
    cloud: Cloud,
}

/// The expression of `key` in `exprs`, for a block found by position.
fn expr<'v>(exprs: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    exprs.and_then(|e| e.get(key))
}

impl<'a> Reader<'a, '_> {
    fn id(&self, r: &Res) -> String {
        self.ids[&r.address].clone()
    }

    /// The resource a reference names, from `r`'s module.
    fn resolve_ref(&self, r: &Res, reference: &str) -> Option<String> {
        self.resolve_in(&r.module, &r.index, reference, 0)
    }

    /// The resource a reference in `module` names; `var.x` follows the
    /// module call's input `x` into the calling module.
    fn resolve_in(
        &self,
        module: &str,
        index: &Option<Value>,
        reference: &str,
        depth: usize,
    ) -> Option<String> {
        if let Some(var) = reference.strip_prefix("var.") {
            let var = var.split(['.', '[']).next()?;
            let call = self.modules.get(module)?;
            let refs = call.inputs?.get(var)?.get("references")?.as_array()?;
            if depth > 16 {
                return None;
            }
            return refs
                .iter()
                .filter_map(Value::as_str)
                .find_map(|r| self.resolve_in(&call.parent, index, r, depth + 1));
        }
        if !reference.starts_with("aws_") {
            return None;
        }
        // `aws_vpc.main.id` → `aws_vpc.main`; `aws_subnet.a[0].id` → `aws_subnet.a[0]`.
        let mut parts = reference.splitn(3, '.');
        let (kind, name) = (parts.next()?, parts.next()?);
        let base = format!("{kind}.{name}");
        let full = if module.is_empty() {
            base.clone()
        } else {
            format!("{module}.{base}")
        };
        let (plain, idx) = match full.find('[') {
            Some(i) => (&full[..i], Some(&full[i..])),
            None => (full.as_str(), None),
        };
        let matches: Vec<&Res> = self
            .resources
            .iter()
            .filter(|x| {
                x.address == full
                    || (idx.is_none()
                        && x.address.starts_with(plain)
                        && x.address[plain.len()..].starts_with('['))
                    || (idx.is_none() && x.address == plain)
            })
            .collect();
        match matches.as_slice() {
            [one] => Some(self.id(one)),
            [] => None,
            many => {
                // `count`/`for_each`: the instance with the same index.
                many.iter()
                    .find(|x| x.index.is_some() && x.index == *index)
                    .map(|x| self.id(x))
            }
        }
    }

    /// Ids named by `key`: its known value (a string or a list of them),
    /// else the references of its expression. Empty when neither says.
    fn ids_of(
        &self,
        r: &Res,
        node: &Node,
        exprs: Option<&Value>,
        key: &str,
    ) -> Result<Vec<String>, ImportError> {
        if let Some(v) = node.get(key)? {
            return match v.value {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Array(_) => v
                    .items()?
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Err(v.error(format!(
                    "expected an id, found {}",
                    crate::json::describe(v.value)
                ))),
            };
        }
        let mut out = Vec::new();
        let refs = expr(exprs, key)
            .and_then(|e| e.get("references"))
            .and_then(Value::as_array);
        let mut unresolved = None;
        for reference in refs.into_iter().flatten().filter_map(Value::as_str) {
            match self.resolve_ref(r, reference) {
                Some(id) => {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                None => unresolved = unresolved.or(Some(reference.to_string())),
            }
        }
        if out.is_empty() {
            if let Some(reference) = unresolved {
                return Err(Place {
                    field: crate::json::join(&node.path, key),
                    ..node.place()
                }
                .error(format!(
                    "unknown in the plan, and its reference {reference} is no resource of the plan"
                )));
            }
        }
        Ok(out)
    }

    fn one_id(
        &self,
        r: &Res,
        node: &Node,
        exprs: Option<&Value>,
        key: &str,
    ) -> Result<Option<String>, ImportError> {
        Ok(self.ids_of(r, node, exprs, key)?.into_iter().next())
    }

    fn req_id(
        &self,
        r: &Res,
        node: &Node,
        exprs: Option<&Value>,
        key: &str,
    ) -> Result<String, ImportError> {
        self.one_id(r, node, exprs, key)?.ok_or_else(|| {
            Place {
                field: crate::json::join(&node.path, key),
                ..node.place()
            }
            .error("missing (neither a value nor a reference to a resource of the plan)")
        })
    }

    /// The VPC of a resource: its `vpc_id`, or for the `aws_default_*`
    /// resources the VPC whose `key` (`default_route_table_id`, ...) it
    /// names — a known id matched against the VPCs' values, or a reference
    /// such as `aws_vpc.main.default_route_table_id`.
    fn vpc_of(&self, r: &Res, key: &str) -> Result<Option<String>, ImportError> {
        if let Some(vpc) = self.one_id(r, &r.values, r.expressions, "vpc_id")? {
            return Ok(Some(vpc));
        }
        if let Some(known) = r.values.opt_str(key)? {
            let owner = self.resources.iter().find(|x| {
                x.kind == "aws_vpc"
                    && x.values.value.get(key).and_then(Value::as_str) == Some(known)
            });
            return Ok(owner.map(|x| self.id(x)));
        }
        self.one_id(r, &r.values, r.expressions, key)
    }

    fn read_all(&mut self) -> Result<(), ImportError> {
        let rs = self.resources;
        // Order matters only for lookups: containers first.
        for r in rs
            .iter()
            .filter(|r| r.kind == "aws_ec2_managed_prefix_list")
        {
            self.prefix_list(r)?;
        }
        for r in rs.iter().filter(|r| r.kind == "aws_vpc") {
            self.vpc(r)?;
        }
        for r in rs {
            match r.kind.as_str() {
                "aws_subnet" => self.subnet(r)?,
                "aws_security_group" | "aws_default_security_group" => self.group(r)?,
                "aws_network_acl" | "aws_default_network_acl" => self.nacl(r)?,
                "aws_route_table" | "aws_default_route_table" => self.route_table(r)?,
                "aws_internet_gateway" | "aws_egress_only_internet_gateway" => self.gateway(r)?,
                "aws_nat_gateway" => self.nat(r)?,
                _ => {}
            }
        }
        for r in rs {
            match r.kind.as_str() {
                "aws_security_group_rule" => self.group_rule(r)?,
                "aws_vpc_security_group_ingress_rule" => self.vpc_group_rule(r, false)?,
                "aws_vpc_security_group_egress_rule" => self.vpc_group_rule(r, true)?,
                "aws_network_acl_rule" => self.nacl_rule(r)?,
                "aws_network_acl_association" => self.nacl_association(r)?,
                "aws_route" => self.route(r)?,
                "aws_route_table_association" => self.table_association(r)?,
                "aws_main_route_table_association" => self.main_association(r)?,
                "aws_instance" => self.instance(r)?,
                _ => {}
            }
        }
        self.main_tables();
        self.assign_addresses();
        Ok(())
    }

    fn tag_name(&self, r: &Res) -> Result<Option<String>, ImportError> {
        if let Some(tags) = r.values.get("tags")? {
            if let Some(n) = tags.opt_str("Name")? {
                return Ok(Some(n.to_string()));
            }
        }
        Ok(None)
    }

    /// The `Name` tag, else the resource's own name (`web`, `app-0`).
    fn name(&self, r: &Res) -> Result<Option<String>, ImportError> {
        if let Some(n) = self.tag_name(r)? {
            return Ok(Some(n));
        }
        // The resource's own name (`web`, `private-0`).
        let mut name = r.local.split('.').nth(1).unwrap_or("").to_string();
        match &r.index {
            Some(Value::Number(n)) => name = format!("{name}-{n}"),
            Some(Value::String(s)) => name = format!("{name}-{s}"),
            _ => {}
        }
        Ok(Some(name))
    }

    fn prefix_list(&mut self, r: &Res) -> Result<(), ImportError> {
        let mut cidrs = Vec::new();
        for e in r.values.list("entry")? {
            let c = e.req("cidr")?;
            let text = c.as_str()?;
            let net: IpNet = text
                .parse()
                .map_err(|_| c.error(format!("{text:?} is not a prefix")))?;
            cidrs.push(net.trunc());
        }
        let id = self.id(r);
        self.cloud.prefix_lists.insert(
            id.clone(),
            PrefixList {
                id,
                name: r.values.opt_str("name")?.map(str::to_string),
                cidrs: Some(cidrs),
            },
        );
        Ok(())
    }

    fn vpc(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let cidrs = match v.get("cidr_block")? {
            Some(c) => vec![v4_net(&c)?],
            None => {
                self.warnings.push(Warning::at(
                    &v.place().at("cidr_block"),
                    "unknown in the plan (IPAM?): the VPC has no IPv4 prefix here",
                ));
                Vec::new()
            }
        };
        let ipv6 = match v.get("ipv6_cidr_block")? {
            Some(c) if !c.as_str()?.is_empty() => vec![v6_net(&c)?],
            _ => {
                if v.opt_bool("assign_generated_ipv6_cidr_block")? == Some(true) {
                    self.warnings.push(Warning::at(
                        &v.place().at("ipv6_cidr_block"),
                        "AWS assigns the IPv6 prefix at apply time: unknown in the plan, not imported (import the state after apply)",
                    ));
                }
                Vec::new()
            }
        };
        self.cloud.vpcs.push(Vpc {
            id: self.id(r),
            name: self.name(r)?,
            cidrs,
            ipv6,
            place: v.place(),
        });
        Ok(())
    }

    fn subnet(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let vpc = self.req_id(r, v, r.expressions, "vpc_id")?;
        let cidr = v.get("cidr_block")?.map(|c| v4_net(&c)).transpose()?;
        let ipv6 = match v.get("ipv6_cidr_block")? {
            Some(c) if !c.as_str()?.is_empty() => Some(v6_net(&c)?),
            Some(_) => None,
            None => {
                if expr(r.expressions, "ipv6_cidr_block").is_some() {
                    self.warnings.push(Warning::at(
                        &v.place().at("ipv6_cidr_block"),
                        "unknown in the plan (derived from the VPC's AWS-assigned prefix): not imported",
                    ));
                }
                None
            }
        };
        if cidr.is_none() && ipv6.is_none() {
            return Err(v.error("the subnet has neither cidr_block nor ipv6_cidr_block"));
        }
        self.cloud.subnets.push(Subnet {
            id: self.id(r),
            vpc,
            name: self.name(r)?,
            cidr,
            ipv6,
            place: v.place(),
        });
        Ok(())
    }

    fn group(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let id = self.id(r);
        let default = r.kind == "aws_default_security_group";
        let group_name = if default {
            Some("default".to_string())
        } else {
            v.opt_str("name")?.map(str::to_string)
        };
        // The Name tag, else the group's name, else the resource's.
        let name = match self.tag_name(r)? {
            Some(n) => Some(n),
            None if group_name.is_some() => group_name.clone(),
            None => self.name(r)?,
        };
        let mut group = Group {
            id: id.clone(),
            vpc: self.one_id(r, v, r.expressions, "vpc_id")?,
            name,
            group_name,
            description: v.opt_str("description")?.map(str::to_string),
            inbound: Vec::new(),
            outbound: Vec::new(),
            place: v.place(),
        };
        for (key, out) in [("ingress", false), ("egress", true)] {
            let config_blocks = config_blocks(r, key);
            let synthesized = synthesize(v, key, &config_blocks)?;
            for (block, exprs) in blocks(v, key, &config_blocks, &synthesized)? {
                let rules = self.inline_rule(
                    r,
                    &block,
                    exprs,
                    &id,
                    (
                        "cidr_blocks",
                        "ipv6_cidr_blocks",
                        "security_groups",
                        "prefix_list_ids",
                    ),
                )?;
                if out {
                    group.outbound.extend(rules);
                } else {
                    group.inbound.extend(rules);
                }
            }
        }
        self.cloud.groups.push(group);
        Ok(())
    }

    /// An inline `ingress`/`egress` block or an `aws_security_group_rule`:
    /// one rule per peer.
    fn inline_rule(
        &mut self,
        r: &Res,
        block: &Node,
        exprs: Option<&Value>,
        self_id: &str,
        (v4, v6, groups, lists): (&str, &str, &str, &str),
    ) -> Result<Vec<SgRule>, ImportError> {
        let proto = proto_of(&block.req("protocol")?)?;
        let ports = ports_of(
            proto,
            block.opt_i64("from_port")?,
            block.opt_i64("to_port")?,
            &block.place(),
            ("from_port", "to_port"),
        )?;
        let description = block
            .opt_str("description")?
            .map(str::to_string)
            .filter(|d| !d.is_empty());
        let mut peers = Vec::new();
        for c in block.list(v4)? {
            peers.push((Peer::Net(IpNet::V4(v4_net(&c)?)), c.place()));
        }
        for c in block.list(v6)? {
            peers.push((Peer::Net(IpNet::V6(v6_net(&c)?)), c.place()));
        }
        for g in self.ids_of(r, block, exprs, groups)? {
            peers.push((Peer::Group(g), block.place().at(groups)));
        }
        if block.opt_bool("self")? == Some(true) {
            peers.push((Peer::Group(self_id.to_string()), block.place().at("self")));
        }
        for p in self.ids_of(r, block, exprs, lists)? {
            peers.push((Peer::PrefixList(p), block.place().at(lists)));
        }
        if peers.is_empty() {
            self.warnings.push(Warning::at(
                &block.place(),
                "a rule without a peer matches nothing; not imported",
            ));
        }
        Ok(peers
            .into_iter()
            .map(|(peer, place)| SgRule {
                proto,
                ports,
                peer,
                description: description.clone(),
                place,
            })
            .collect())
    }

    fn group_index(&mut self, id: &str, place: &Place) -> Result<usize, ImportError> {
        self.cloud
            .groups
            .iter()
            .position(|g| g.id == id)
            .ok_or_else(|| place.error(format!("{id} is no security group of the plan")))
    }

    fn group_rule(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let group = self.req_id(r, v, r.expressions, "security_group_id")?;
        let index = self.group_index(&group, &v.place().at("security_group_id"))?;
        let egress = match v.str("type")? {
            "ingress" => false,
            "egress" => true,
            other => {
                return Err(v
                    .req("type")?
                    .error(format!("{other:?} is not ingress or egress")))
            }
        };
        let rules = self.inline_rule(
            r,
            v,
            r.expressions,
            &group,
            (
                "cidr_blocks",
                "ipv6_cidr_blocks",
                "source_security_group_id",
                "prefix_list_ids",
            ),
        )?;
        let g = &mut self.cloud.groups[index];
        if egress {
            g.outbound.extend(rules)
        } else {
            g.inbound.extend(rules)
        }
        Ok(())
    }

    fn vpc_group_rule(&mut self, r: &Res, egress: bool) -> Result<(), ImportError> {
        let v = &r.values;
        let group = self.req_id(r, v, r.expressions, "security_group_id")?;
        let index = self.group_index(&group, &v.place().at("security_group_id"))?;
        let proto = proto_of(&v.req("ip_protocol")?)?;
        let ports = ports_of(
            proto,
            v.opt_i64("from_port")?,
            v.opt_i64("to_port")?,
            &v.place(),
            ("from_port", "to_port"),
        )?;
        let peer = if let Some(c) = v.get("cidr_ipv4")? {
            Peer::Net(IpNet::V4(v4_net(&c)?))
        } else if let Some(c) = v.get("cidr_ipv6")? {
            Peer::Net(IpNet::V6(v6_net(&c)?))
        } else if let Some(g) = self.one_id(r, v, r.expressions, "referenced_security_group_id")? {
            Peer::Group(g)
        } else if let Some(p) = self.one_id(r, v, r.expressions, "prefix_list_id")? {
            Peer::PrefixList(p)
        } else {
            return Err(v.error("no peer: one of cidr_ipv4, cidr_ipv6, referenced_security_group_id or prefix_list_id is required"));
        };
        let rule = SgRule {
            proto,
            ports,
            peer,
            description: v
                .opt_str("description")?
                .map(str::to_string)
                .filter(|d| !d.is_empty()),
            place: v.place(),
        };
        let g = &mut self.cloud.groups[index];
        if egress {
            g.outbound.push(rule)
        } else {
            g.inbound.push(rule)
        }
        Ok(())
    }

    fn nacl(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let mut entries = Vec::new();
        for (key, egress) in [("ingress", false), ("egress", true)] {
            let config_blocks = config_blocks(r, key);
            let synthesized = synthesize(v, key, &config_blocks)?;
            for (block, _) in blocks(v, key, &config_blocks, &synthesized)? {
                entries.push(nacl_entry(&block, egress, "rule_no", "action")?);
            }
        }
        let subnets = self.ids_of(r, v, r.expressions, "subnet_ids")?;
        let vpc = self.vpc_of(r, "default_network_acl_id")?;
        self.cloud.nacls.push(Nacl {
            id: self.id(r),
            vpc,
            name: self.name(r)?,
            is_default: r.kind == "aws_default_network_acl",
            entries,
            subnets,
            place: v.place(),
        });
        Ok(())
    }

    fn nacl_rule(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let nacl = self.req_id(r, v, r.expressions, "network_acl_id")?;
        let egress = v.opt_bool("egress")?.unwrap_or(false);
        let entry = nacl_entry(v, egress, "rule_number", "rule_action")?;
        let Some(n) = self.cloud.nacls.iter_mut().find(|n| n.id == nacl) else {
            return Err(v
                .place()
                .at("network_acl_id")
                .error(format!("{nacl} is no network ACL of the plan")));
        };
        n.entries.push(entry);
        Ok(())
    }

    fn nacl_association(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let nacl = self.req_id(r, v, r.expressions, "network_acl_id")?;
        let subnet = self.req_id(r, v, r.expressions, "subnet_id")?;
        let Some(n) = self.cloud.nacls.iter_mut().find(|n| n.id == nacl) else {
            return Err(v
                .place()
                .at("network_acl_id")
                .error(format!("{nacl} is no network ACL of the plan")));
        };
        n.subnets.push(subnet);
        Ok(())
    }

    fn tables(&mut self) -> &mut Vec<RouteTable> {
        self.cloud.route_tables.get_or_insert_with(Vec::new)
    }

    fn route_table(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let default = r.kind == "aws_default_route_table";
        let vpc = self.vpc_of(r, "default_route_table_id")?;
        let config_blocks = config_blocks(r, "route");
        let synthesized = synthesize(v, "route", &config_blocks)?;
        let mut routes = Vec::new();
        for (block, exprs) in blocks(v, "route", &config_blocks, &synthesized)? {
            routes.push(self.route_of(
                r,
                &block,
                exprs,
                (
                    "cidr_block",
                    "ipv6_cidr_block",
                    "destination_prefix_list_id",
                ),
            )?);
        }
        let table = RouteTable {
            id: self.id(r),
            vpc,
            name: self.name(r)?,
            main: default,
            subnets: Vec::new(),
            routes,
            place: v.place(),
        };
        self.tables().push(table);
        Ok(())
    }

    fn route_of(
        &self,
        r: &Res,
        block: &Node,
        exprs: Option<&Value>,
        (v4, v6, list): (&str, &str, &str),
    ) -> Result<Route, ImportError> {
        let dest = if let Some(c) = block.get(v4)?.filter(|c| c.value.as_str() != Some("")) {
            Dest::Net(IpNet::V4(v4_net(&c)?))
        } else if let Some(c) = block.get(v6)?.filter(|c| c.value.as_str() != Some("")) {
            Dest::Net(IpNet::V6(v6_net(&c)?))
        } else if let Some(p) = self
            .one_id(r, block, exprs, list)?
            .filter(|p| !p.is_empty())
        {
            Dest::PrefixList(p)
        } else {
            return Err(block
                .place()
                .at(v4)
                .error(format!("missing (or {v6}, {list})")));
        };
        type MakeTarget = fn(String) -> Target;
        let targets: [(&str, MakeTarget); 9] = [
            ("nat_gateway_id", Target::Nat),
            ("egress_only_gateway_id", Target::Gateway),
            ("gateway_id", |g| {
                if g == "local" {
                    Target::Local
                } else if g.starts_with("vgw-") {
                    Target::Other("a virtual private gateway (VPN)", g)
                } else {
                    Target::Gateway(g)
                }
            }),
            ("transit_gateway_id", |g| {
                Target::Other("a transit gateway", g)
            }),
            ("vpc_peering_connection_id", |g| {
                Target::Other("a VPC peering connection", g)
            }),
            ("network_interface_id", |g| {
                Target::Other("a network interface (a middlebox)", g)
            }),
            ("vpc_endpoint_id", |g| Target::Other("a VPC endpoint", g)),
            ("carrier_gateway_id", |g| {
                Target::Other("a carrier gateway", g)
            }),
            ("local_gateway_id", |g| Target::Other("a local gateway", g)),
        ];
        let mut target = None;
        for (key, make) in targets {
            if let Some(id) = self.one_id(r, block, exprs, key)?.filter(|s| !s.is_empty()) {
                target = Some(make(id));
                break;
            }
        }
        let Some(target) = target else {
            return Err(
                block.error("no target (gateway_id, nat_gateway_id, ...) known or referenced")
            );
        };
        Ok(Route {
            dest,
            target,
            blackhole: false,
            place: block.place(),
        })
    }

    fn route(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let table = self.req_id(r, v, r.expressions, "route_table_id")?;
        let route = self.route_of(
            r,
            v,
            r.expressions,
            (
                "destination_cidr_block",
                "destination_ipv6_cidr_block",
                "destination_prefix_list_id",
            ),
        )?;
        let Some(t) = self.tables().iter_mut().find(|t| t.id == table) else {
            return Err(v
                .place()
                .at("route_table_id")
                .error(format!("{table} is no route table of the plan")));
        };
        t.routes.push(route);
        Ok(())
    }

    fn table_association(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let table = self.req_id(r, v, r.expressions, "route_table_id")?;
        let Some(subnet) = self.one_id(r, v, r.expressions, "subnet_id")? else {
            self.warnings.push(Warning::at(&v.place(), "an edge association (gateway_id) is not simulated: traffic from the gateway follows the local route"));
            return Ok(());
        };
        let Some(t) = self.tables().iter_mut().find(|t| t.id == table) else {
            return Err(v
                .place()
                .at("route_table_id")
                .error(format!("{table} is no route table of the plan")));
        };
        t.subnets.push(subnet);
        Ok(())
    }

    fn main_association(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let table = self.req_id(r, v, r.expressions, "route_table_id")?;
        let Some(t) = self.tables().iter_mut().find(|t| t.id == table) else {
            return Err(v
                .place()
                .at("route_table_id")
                .error(format!("{table} is no route table of the plan")));
        };
        t.main = true;
        Ok(())
    }

    /// A VPC whose main table the plan does not manage has AWS's own: the
    /// local route only.
    fn main_tables(&mut self) {
        let vpcs: Vec<(String, String, Place)> = self
            .cloud
            .vpcs
            .iter()
            .map(|v| {
                (
                    v.id.clone(),
                    v.name.clone().unwrap_or_else(|| v.id.clone()),
                    v.place.clone(),
                )
            })
            .collect();
        for (vpc, name, place) in vpcs {
            let tables = self.tables();
            let has_main = tables
                .iter()
                .any(|t| t.main && t.vpc.as_deref() == Some(&vpc));
            if !has_main {
                tables.push(RouteTable {
                    id: "main (AWS's own, not in the plan)".into(),
                    vpc: Some(vpc.clone()),
                    name: Some(format!("{name}-main")),
                    main: true,
                    subnets: Vec::new(),
                    routes: Vec::new(),
                    place,
                });
            }
        }
    }

    fn gateway(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let vpcs = self.ids_of(r, v, r.expressions, "vpc_id")?;
        let kind = if r.kind == "aws_internet_gateway" {
            GatewayKind::Internet
        } else {
            GatewayKind::EgressOnly
        };
        self.cloud.gateways.push(Gateway {
            id: self.id(r),
            kind,
            name: self.name(r)?,
            vpcs,
            place: v.place(),
        });
        Ok(())
    }

    fn nat(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let subnet = self.req_id(r, v, r.expressions, "subnet_id")?;
        let private_ip = v
            .get("private_ip")?
            .map(|n| {
                n.as_str().and_then(|s| {
                    s.parse::<Ipv4Addr>()
                        .map_err(|_| n.error(format!("{s:?} is not an IPv4 address")))
                })
            })
            .transpose()?;
        self.cloud.nats.push(NatGateway {
            id: self.id(r),
            name: self.name(r)?,
            subnet,
            private_ip,
            public_ip: None,
            place: v.place(),
        });
        Ok(())
    }

    fn instance(&mut self, r: &Res) -> Result<(), ImportError> {
        let v = &r.values;
        let subnet = self.req_id(r, v, r.expressions, "subnet_id")?;
        let ip = v
            .get("private_ip")?
            .filter(|n| n.value.as_str() != Some(""))
            .map(|n| {
                n.as_str().and_then(|s| {
                    s.parse::<Ipv4Addr>()
                        .map_err(|_| n.error(format!("{s:?} is not an IPv4 address")))
                })
            })
            .transpose()?;
        let mut groups = self.ids_of(r, v, r.expressions, "vpc_security_group_ids")?;
        if groups.is_empty() {
            groups = self.ids_of(r, v, r.expressions, "security_groups")?;
        }
        let public_ip = match v.opt_str("public_ip")? {
            Some(p) if !p.is_empty() => Some(p.to_string()),
            _ if v.opt_bool("associate_public_ip_address")? == Some(true) => {
                Some("(assigned at apply)".to_string())
            }
            _ => None,
        };
        let ipv6 = match v.list("ipv6_addresses")?.first() {
            Some(a) => {
                let s = a.as_str()?;
                Some(
                    s.parse()
                        .map_err(|_| a.error(format!("{s:?} is not an IPv6 address")))?,
                )
            }
            None => None,
        };
        self.cloud.instances.push(Instance {
            id: self.id(r),
            name: self.name(r)?,
            subnet,
            ip,
            ipv6,
            groups,
            public_ip,
            ip_note: None,
            place: v.place(),
        });
        Ok(())
    }

    /// Instances and NAT gateways whose private address AWS picks at apply
    /// time get the lowest free one from the subnet's fifth address up (AWS
    /// reserves the first four), so the lab has it and routes to it.
    fn assign_addresses(&mut self) {
        let mut used: BTreeSet<Ipv4Addr> =
            self.cloud.instances.iter().filter_map(|i| i.ip).collect();
        used.extend(self.cloud.nats.iter().filter_map(|n| n.private_ip));
        let subnets: BTreeMap<String, Ipv4Net> = self
            .cloud
            .subnets
            .iter()
            .filter_map(|s| s.cidr.map(|c| (s.id.clone(), c)))
            .collect();
        let next = |subnet: &str, used: &mut BTreeSet<Ipv4Addr>| -> Option<Ipv4Addr> {
            let c = subnets.get(subnet)?;
            let first = u32::from(c.network()) + 4;
            let last = u32::from(c.broadcast()).checked_sub(1)?;
            let a = (first..=last)
                .map(Ipv4Addr::from)
                .find(|a| !used.contains(a))?;
            used.insert(a);
            Some(a)
        };
        for n in &mut self.cloud.nats {
            if n.private_ip.is_none() {
                n.private_ip = next(&n.subnet, &mut used);
            }
        }
        for i in &mut self.cloud.instances {
            if i.ip.is_none() {
                i.ip = next(&i.subnet, &mut used);
                if i.ip.is_some() {
                    i.ip_note =
                        Some("private IP unknown in the plan: the first free one chosen".into());
                }
            }
        }
    }
}

fn proto_of(node: &Node) -> Result<Proto, ImportError> {
    let text = match node.value {
        Value::Number(_) => node.as_i64()?.to_string(),
        _ => node.as_str()?.to_string(),
    };
    parse_proto(&text).ok_or_else(|| {
        node.error(format!(
            "unknown protocol {text:?} (tcp, udp, icmp, icmpv6, -1 or all, or a number 0..=255)"
        ))
    })
}

fn nacl_entry(
    v: &Node,
    egress: bool,
    number_key: &str,
    action_key: &str,
) -> Result<NaclEntry, ImportError> {
    let number = v.req(number_key)?;
    let n = number.as_i64()?;
    let n = u32::try_from(n)
        .ok()
        .filter(|n| (1..=32766).contains(n))
        .ok_or_else(|| number.error(format!("{n} is not a rule number (1..=32766)")))?;
    let proto = proto_of(&v.req("protocol")?)?;
    let action = v.req(action_key)?;
    let allow = match action.as_str()? {
        "allow" => true,
        "deny" => false,
        other => return Err(action.error(format!("{other:?} is not allow or deny"))),
    };
    let cidr = match (
        v.get("cidr_block")?
            .filter(|c| c.value.as_str() != Some("")),
        v.get("ipv6_cidr_block")?
            .filter(|c| c.value.as_str() != Some("")),
    ) {
        (Some(c), _) => IpNet::V4(v4_net(&c)?),
        (None, Some(c)) => IpNet::V6(v6_net(&c)?),
        (None, None) => {
            return Err(v
                .place()
                .at("cidr_block")
                .error("missing (or ipv6_cidr_block)"))
        }
    };
    let ports = match proto {
        Proto::Icmp | Proto::Icmpv6 => ports_of(
            proto,
            v.opt_i64("icmp_type")?,
            v.opt_i64("icmp_code")?,
            &v.place(),
            ("icmp_type", "icmp_code"),
        )?,
        _ => ports_of(
            proto,
            v.opt_i64("from_port")?,
            v.opt_i64("to_port")?,
            &v.place(),
            ("from_port", "to_port"),
        )?,
    };
    Ok(NaclEntry {
        number: n,
        egress,
        allow,
        proto,
        ports,
        cidr,
        place: v.place(),
    })
}

/// The configuration's blocks of `key` (`ingress`, `route`) of a resource.
fn config_blocks<'v>(r: &Res<'v>, key: &str) -> Vec<&'v Value> {
    expr(r.expressions, key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// When the plan leaves a whole set of blocks out (a set with an unknown
/// element is unknown as a whole), the blocks as the configuration writes
/// them: their constant values, references resolved later.
fn synthesize(v: &Node, key: &str, config: &[&Value]) -> Result<Vec<Value>, ImportError> {
    if v.get(key)?.is_some() {
        return Ok(Vec::new());
    }
    Ok(config
        .iter()
        .map(|c| {
            let mut block = serde_json::Map::new();
            if let Value::Object(map) = c {
                for (k, e) in map {
                    if let Some(constant) = e.get("constant_value") {
                        block.insert(k.clone(), constant.clone());
                    }
                }
            }
            Value::Object(block)
        })
        .collect())
}

/// The planned blocks of `key`, each with its configuration block when one
/// matches; or, when the plan has none, the synthesized ones.
fn blocks<'v>(
    v: &Node<'v>,
    key: &str,
    config: &[&'v Value],
    synthesized: &'v [Value],
) -> Result<Vec<(Node<'v>, Option<&'v Value>)>, ImportError> {
    if let Some(planned) = v.get(key)? {
        return Ok(planned
            .items()?
            .into_iter()
            .map(|b| {
                let e = matching_block(&b, config);
                (b, e)
            })
            .collect());
    }
    Ok(synthesized
        .iter()
        .zip(config)
        .enumerate()
        .map(|(i, (value, c))| {
            let node = Node {
                file: v.file,
                object: v.object.clone(),
                path: crate::json::join(&v.path, &format!("{key}[{i}]")),
                pointer: v.pointer.clone(),
                value,
            };
            (node, Some(*c))
        })
        .collect())
}

/// The configuration block of a nested block (`ingress`, `route`) whose
/// constant values agree with the planned ones: planned blocks are sets, so
/// their order need not be the configuration's.
fn matching_block<'v>(block: &Node, config: &[&'v Value]) -> Option<&'v Value> {
    let agrees = |c: &&&Value| {
        let Value::Object(map) = **c else {
            return false;
        };
        map.iter().all(|(k, e)| match e.get("constant_value") {
            Some(want) => block.value.get(k).is_none_or(|have| have == want),
            None => true,
        })
    };
    let candidates: Vec<&&Value> = config.iter().filter(agrees).collect();
    match candidates.as_slice() {
        [one] => Some(**one),
        _ => None,
    }
}
