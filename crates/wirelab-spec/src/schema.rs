//! The lab format as a JSON Schema (draft-07), for editors and CI:
//! `wirelab schema` prints [`lab_schema_json`].
//!
//! The reader (`build/`) walks the YAML tree by hand to report every problem
//! with its position; it has no serde types. The types here exist only to
//! describe the format: they mirror what the reader accepts, key for key,
//! and their doc comments are the schema's descriptions. A test holds their
//! keys equal to the reader's key lists, so one cannot grow without the
//! other.
//!
//! What a schema can say is a necessary condition: every lab the reader
//! accepts is valid against it. Cross-references (does host `web` exist?),
//! address arithmetic and the rules that need the whole lab are the
//! reader's alone; `wirelab check` is the full answer.
//!
//! Draft-07 because yaml-language-server (VS Code's YAML extension, neovim's
//! yamlls) implements it fully and newer drafts only in part.
//!
//! How the types are written: every struct has `#[schemars(default)]`, so
//! that its keys are optional, and lists its required keys itself in
//! `extend("required" = [...])` (schemars lets a container default win
//! over a field's `required`). Field types are never `Option` (schemars
//! would let them be `null`, which the reader rejects for a scalar) and
//! never serializable (so no misleading `default` is printed). Leaves are
//! small named types (`leaf!`) whose schema is written out: patterns for
//! quantities, ranges for numbers.

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

/// The schema of a lab file, as a JSON value.
pub fn lab_schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<Lab>().to_value();
    unwrap_descriptions(&mut schema);
    schema
}

/// Doc comments are wrapped at 80 columns; a description is one paragraph
/// per line, as editors show Markdown.
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" || key == "title" => {
                        let paragraphs: Vec<String> = text
                            .split("\n\n")
                            .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect();
                        *text = paragraphs.join("\n\n");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// The schema as the text `wirelab schema` prints: pretty JSON with keys in
/// a fixed order and a final newline, the same bytes on every run.
pub fn lab_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&lab_schema()).expect("a schema serializes");
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------
// Leaves: one named type per kind of value.

/// A leaf type: a unit struct whose schema is the JSON given. `inline`
/// leaves are written where they are used; the others once, under
/// `definitions`, and referred to.
macro_rules! leaf {
    ($(#[doc = $doc:literal])* $name:ident, inline, |$g:ident| $schema:tt) => {
        $(#[doc = $doc])*
        #[derive(Default)]
        struct $name;
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema($g: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
    ($(#[doc = $doc:literal])* $name:ident, |$g:ident| $schema:tt) => {
        $(#[doc = $doc])*
        #[derive(Default)]
        struct $name;
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema($g: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
    ($(#[doc = $doc:literal])* $name:ident, inline, $schema:tt) => {
        $(#[doc = $doc])*
        #[derive(Default)]
        struct $name;
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
    ($(#[doc = $doc:literal])* $name:ident, $schema:tt) => {
        $(#[doc = $doc])*
        #[derive(Default)]
        struct $name;
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

/// A decimal number as the quantity parser reads it: digits, an optional
/// fraction (`1.5`, `.5`), no sign, no exponent.
const NUMBER: &str = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)";
/// One IPv4 octet without leading zeros (Rust's parser refuses them).
const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

fn quantity(units: &str) -> String {
    format!(r"^\s*{NUMBER}\s*(?:{units})\s*$")
}

fn ipv4_address() -> String {
    format!(r"^\s*{OCTET}(?:\.{OCTET}){{3}}\s*$")
}

fn ipv4_prefix() -> String {
    format!(r"^\s*{OCTET}(?:\.{OCTET}){{3}}/(?:3[0-2]|[12]?[0-9])\s*$")
}

/// IPv6 is checked loosely (hex digits, colons, an optional dotted tail);
/// `format: ipv6` asks validators that check formats for the rest.
const IPV6_ADDRESS: &str = r"^\s*[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\s*$";
const IPV6_PREFIX: &str =
    r"^\s*[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])\s*$";

/// A pattern matching `words` in any letter case (JSON Schema's regular
/// expressions have no case-insensitive flag).
fn any_case(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| {
            word.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

/// Record types written inline in a zone (`wirelab_dns`'s list).
const RECORD_TYPES: [&str; 11] = [
    "SOA", "NS", "A", "AAAA", "CNAME", "MX", "TXT", "PTR", "SRV", "CAA", "ALIAS",
];
/// Record types a dns check may ask for.
const QUERY_TYPES: [&str; 11] = [
    "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA", "ANY",
];

leaf!(Text, inline, { "type": "string" });
leaf!(Flag, inline, { "type": "boolean" });

leaf!(LabId, {
    "description": "The lab's identifier: lowercase letters, digits and `-`, starting with a letter or digit, at most 63 characters.",
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9-]*$",
    "maxLength": 63,
    "examples": ["vpc-security"]
});
leaf!(Seed, {
    "description": "Seed of every random choice (loss, jitter, ephemeral ports): the same lab and seed give the same run, byte for byte. Default 1.",
    "type": "integer",
    "minimum": 0,
    "maximum": 18446744073709551615u64
});

leaf!(Bandwidth, {
    "description": "A bandwidth: a number and a unit, bps, Kbps, Mbps or Gbps (powers of 1000); decimals allowed (`1.5Mbps`). More than 0, at most 1000Gbps.",
    "type": "string",
    "pattern": quantity("bps|Kbps|Mbps|Gbps"),
    "examples": ["1Gbps", "100Mbps", "64Kbps"]
});
leaf!(Delay, {
    "description": "A delay: a number and a unit, ns, us (or µs), ms or s; decimals allowed (`0.5ms`). At most 60s.",
    "type": "string",
    "pattern": quantity("ns|us|µs|ms|s"),
    "examples": ["100us", "1ms", "20ms"]
});
leaf!(Time, {
    "description": "A time from the start of the run, or a duration: a number and a unit, ns, us (or µs), ms, s, min or h; decimals allowed. At least 0, at most one day (`24h`).",
    "type": "string",
    "pattern": quantity("ns|us|µs|ms|s|min|h"),
    "examples": ["0s", "500ms", "5s", "2min"]
});
leaf!(Size, {
    "description": "A size: a number and a unit, B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024); decimals allowed (`1.5MB`). At most 1000GB.",
    "type": "string",
    "pattern": quantity("B|KB|MB|GB|KiB|MiB|GiB"),
    "examples": ["512B", "20KB", "10MB", "4MiB"]
});
leaf!(Loss, {
    "description": "Packet loss in percent, 0 to 100: `0.5%`, or a bare number meaning percent (`0.5`). Default 0%.",
    "anyOf": [
        { "type": "string", "pattern": format!(r"^\s*{NUMBER}\s*%?\s*$") },
        { "type": "number", "minimum": 0, "maximum": 100 }
    ],
    "examples": ["0.5%", "1%"]
});
leaf!(Date, {
    "description": "A date, YYYY-MM-DD.",
    "type": "string",
    "pattern": r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$",
    "examples": ["2026-11-30"]
});

leaf!(Ipv4Address, {
    "description": "An IPv4 address, without a prefix length.",
    "type": "string",
    "pattern": ipv4_address(),
    "examples": ["10.0.1.10"]
});
leaf!(Ipv6Address, {
    "description": "An IPv6 address, without a prefix length. Best quoted in YAML (`\"2001:db8::1\"`).",
    "type": "string",
    "format": "ipv6",
    "pattern": IPV6_ADDRESS,
    "examples": ["2001:db8:0:1::10"]
});
leaf!(IpAddress, |g| {
    "description": "An IPv4 or IPv6 address, without a prefix length.",
    "anyOf": [
        g.subschema_for::<Ipv4Address>(),
        g.subschema_for::<Ipv6Address>()
    ]
});
leaf!(Ipv4Prefix, {
    "description": "An IPv4 prefix, ADDRESS/LENGTH with a length of 0 to 32 and no host bits set (`10.0.1.0/24`, not `10.0.1.5/24`).",
    "type": "string",
    "pattern": ipv4_prefix(),
    "examples": ["10.0.1.0/24"]
});
leaf!(Ipv6Prefix, {
    "description": "An IPv6 prefix, ADDRESS/LENGTH with a length of 0 to 128 and no host bits set. Best quoted in YAML.",
    "type": "string",
    "pattern": IPV6_PREFIX,
    "examples": ["2001:db8:0:1::/64"]
});
leaf!(IpPrefix, |g| {
    "description": "An IPv4 or IPv6 prefix (ADDRESS/LENGTH), no host bits set.",
    "anyOf": [
        g.subschema_for::<Ipv4Prefix>(),
        g.subschema_for::<Ipv6Prefix>()
    ]
});
leaf!(RulePrefix, {
    "description": "A prefix (ADDRESS/LENGTH) of either family, or a bare address meaning that one address (`10.0.0.7` is `10.0.0.7/32`). Host bits set are a warning: the canonical prefix is used, as AWS does.",
    "type": "string",
    "examples": ["0.0.0.0/0", "10.0.0.0/16", "::/0"]
});
leaf!(Peer, {
    "description": "Who the rule admits: a prefix (IPv4 or IPv6), a bare address (that one address), or the name of a security group (the addresses of its members).",
    "type": "string",
    "examples": ["0.0.0.0/0", "::/0", "app-sg"]
});

leaf!(NetworkName, {
    "description": "The name of a network: a key of `networks:`, or a link network (`r1-r2`) where the place allows one.",
    "type": "string"
});
leaf!(RouterName, { "description": "The name of a router (a key of `routers:`).", "type": "string" });
leaf!(HostName, { "description": "The name of a host (a key of `hosts:`).", "type": "string" });
leaf!(GroupName, {
    "description": "The name of a security group (a key of `security_groups:`).",
    "type": "string"
});
leaf!(NaclName, { "description": "The name of a NACL (a key of `nacls:`).", "type": "string" });
leaf!(AuthorityName, {
    "description": "The name of a certificate authority (a key of `tls.authorities`).",
    "type": "string"
});

leaf!(Port, {
    "description": "A port number, 1 to 65535.",
    "type": "integer",
    "minimum": 1,
    "maximum": 65535
});
leaf!(RulePort, {
    "description": "A port number, 0 to 65535.",
    "type": "integer",
    "minimum": 0,
    "maximum": 65535
});
leaf!(RulePorts, {
    "description": "A port (a number, 0 to 65535) or a range `A-B` with A ≤ B. Absent (with no `port` either): every port.",
    "anyOf": [
        { "type": "integer", "minimum": 0, "maximum": 65535 },
        { "type": "string", "pattern": r"^\s*[0-9]+\s*(?:-\s*[0-9]+\s*)?$" }
    ],
    "examples": ["1024-65535", 443]
});
leaf!(RuleProto, {
    "description": "The protocol a rule matches: tcp, udp, icmp (ICMP for IPv4), icmpv6, all, or an IP protocol number 0 to 255 (1, 6, 17 and 58 mean icmp, tcp, udp and icmpv6).",
    "anyOf": [
        { "type": "string", "enum": ["tcp", "udp", "icmp", "icmpv6", "all"] },
        { "type": "integer", "minimum": 0, "maximum": 255 }
    ]
});
leaf!(IcmpNumber, {
    "description": "An ICMP type or code, 0 to 255; only on icmp and icmpv6 rules.",
    "type": "integer",
    "minimum": 0,
    "maximum": 255
});
leaf!(NaclRuleNumber, {
    "description": "A NACL rule number, 1 to 32766, unique within its direction. Rules are evaluated in increasing number.",
    "type": "integer",
    "minimum": 1,
    "maximum": 32766
});
leaf!(Mtu, {
    "description": "The MTU in bytes, 68 to 9216; at least 1280 on a network with an IPv6 prefix. Default 1500.",
    "type": "integer",
    "minimum": 68,
    "maximum": 9216
});
leaf!(QueuePackets, {
    "description": "The drop-tail queue of each sending interface, in packets, 1 to 1,000,000. Default 100.",
    "type": "integer",
    "minimum": 1,
    "maximum": 1000000
});
leaf!(Ttl, {
    "description": "A TTL in seconds, 0 to 2147483647.",
    "type": "integer",
    "minimum": 0,
    "maximum": 2147483647
});
leaf!(Count, {
    "description": "A count, 1 to 1,000,000.",
    "type": "integer",
    "minimum": 1,
    "maximum": 1000000
});
leaf!(DatagramSize, |g| {
    "description": "Bytes of payload, 1 to 65507: a number of bytes or a size (`200B`).",
    "anyOf": [
        { "type": "integer", "minimum": 1, "maximum": 65507 },
        g.subschema_for::<Size>()
    ]
});
leaf!(HttpStatus, {
    "description": "An HTTP status code, 100 to 599.",
    "type": "integer",
    "minimum": 100,
    "maximum": 599
});
leaf!(Points, {
    "description": "Points the check is worth, 0 to 1,000,000. Default 1.",
    "type": "integer",
    "minimum": 0,
    "maximum": 1000000
});
leaf!(NameOrNumber, inline, {
    "description": "A name or address (a number is read as its text).",
    "type": ["string", "number"]
});
leaf!(Url, {
    "description": "An http:// or https:// URL: a host of the lab, an address or a DNS name, an optional :port, and a path.",
    "type": "string",
    "pattern": "^https?://",
    "examples": ["https://shop.example.com/"]
});
leaf!(RecordType, {
    "description": "A record type, in any letter case: SOA, NS, A, AAAA, CNAME, MX, TXT, PTR, SRV, CAA or ALIAS (Route 53's alias at a zone apex).",
    "type": "string",
    "pattern": any_case(&RECORD_TYPES),
    "examples": RECORD_TYPES
});
leaf!(QueryType, {
    "description": "The record type asked for, in any letter case: A (default), AAAA, CNAME, MX, TXT, NS, SOA, PTR, SRV, CAA or ANY.",
    "type": "string",
    "pattern": any_case(&QUERY_TYPES),
    "examples": QUERY_TYPES
});
leaf!(SshLogin, {
    "description": "USER@HOST: the user of `ssh.users` who logs in, and the host.",
    "type": "string",
    "pattern": "^[^@]+@[^@]+$",
    "examples": ["alice@db1"]
});
leaf!(JumpHosts, {
    "description": "Jump hosts, in order, as OpenSSH's `-J`: one `HOST` or `USER@HOST`, or a list of at most 16.",
    "anyOf": [
        { "type": "string" },
        { "type": "array", "items": { "type": "string" }, "maxItems": 16 }
    ]
});
leaf!(Gateways, |g| {
    "description": "The default gateway: one address (IPv4 or IPv6), or a list of at most one address per family. Absent: the router address of each family on the host's network, when exactly one router has one there.",
    "anyOf": [
        g.subschema_for::<IpAddress>(),
        { "type": "array", "items": g.subschema_for::<IpAddress>(), "minItems": 1, "maxItems": 2 }
    ]
});
leaf!(Resolvers, {
    "description": "The recursive resolvers this host's stub asks, in order (like `nameserver` lines of resolv.conf): an address or a host name, or a list of them. Each must be a host with an `app: resolver` service.",
    "anyOf": [
        { "type": "string" },
        { "type": "array", "items": { "type": "string" } }
    ]
});
leaf!(Between, |g| {
    "description": "The two routers the link joins: different routers declared under `routers:`. The first gets the first usable address of each prefix, the second the next.",
    "type": "array",
    "items": g.subschema_for::<RouterName>(),
    "minItems": 2,
    "maxItems": 2
});
leaf!(UrlPath, {
    "description": "The path prefix this route answers: it starts with `/`; the first route whose prefix matches wins.",
    "type": "string",
    "pattern": "^/",
    "examples": ["/health", "/api"]
});
leaf!(Upstream, {
    "description": "HOST:PORT: where the request is forwarded (a reverse proxy), over a connection of its own.",
    "type": "string",
    "pattern": "^.+:[0-9]+$",
    "examples": ["app:8000"]
});
leaf!(TlsVersionValue, {
    "description": "The TLS version: 1.3 (default, one round trip) or 1.2 (two).",
    "enum": ["1.3", "1.2", 1.3, 1.2]
});
leaf!(DelayedAck, |g| {
    "description": "How long a receiver waits before acknowledging: a delay (more than 0, at most 500ms, RFC 1122), or `off` (or `false`) to acknowledge every segment at once. Default 40ms.",
    "anyOf": [
        g.subschema_for::<Delay>(),
        { "const": "off" },
        { "const": false }
    ]
});
leaf!(InitialWindow, {
    "description": "The initial congestion window in segments, 1 to 100. Default 10 (RFC 6928).",
    "type": "integer",
    "minimum": 1,
    "maximum": 100
});
leaf!(PublicKeys, {
    "description": "OpenSSH public keys (the one line of a `.pub` file: ALGORITHM BASE64 [COMMENT]), or one key as a string. Ed25519, ECDSA (P-256, P-384, P-521) and RSA of at least 2048 bits.",
    "anyOf": [
        { "type": "string" },
        { "type": ["array", "null"], "items": { "type": "string" }, "maxItems": 100 }
    ]
});
leaf!(Authority, {
    "description": "A certificate authority. It has no settings yet: write `{}` or nothing.",
    "type": ["object", "null"],
    "additionalProperties": false
});

/// A list; a key with nothing after it (`routes:`) is an empty list.
struct List<T, const MAX: usize = 0>(PhantomData<T>);

impl<T, const MAX: usize> Default for List<T, MAX> {
    fn default() -> Self {
        List(PhantomData)
    }
}

impl<T: JsonSchema, const MAX: usize> JsonSchema for List<T, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("List_of_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = json_schema!({
            "type": ["array", "null"],
            "items": generator.subschema_for::<T>()
        });
        if MAX > 0 {
            schema.insert("maxItems".to_string(), MAX.into());
        }
        schema
    }
}

/// A map of names to definitions (`hosts:`, `networks:`, ...); nothing
/// written is an empty map. Names are map keys, so each is unique.
struct Named<T>(PhantomData<T>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(PhantomData)
    }
}

impl<T: JsonSchema> JsonSchema for Named<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["object", "null"],
            "additionalProperties": generator.subschema_for::<T>()
        })
    }
}

/// `T`, or nothing at all (`r2:`): a router, group, NACL or user with no
/// settings.
struct OrNothing<T>(PhantomData<T>);

impl<T> Default for OrNothing<T> {
    fn default() -> Self {
        OrNothing(PhantomData)
    }
}

impl<T: JsonSchema> JsonSchema for OrNothing<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_nothing", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [generator.subschema_for::<T>(), { "type": "null" }]
        })
    }
}

// ---------------------------------------------------------------------------
// The lab.

/// A wirelab lab: hosts, routers, subnets, security groups and NACLs, DNS,
/// TLS and SSH, traffic and timed events, and the checks that grade it.
/// Sections may come in any order; names may be used before they are
/// declared. `wirelab check LAB` reports everything this schema cannot
/// (unknown names, addresses outside their network, ...).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, title = "wirelab lab (format version 1)")]
#[schemars(extend("required" = ["lab", "hosts"]))]
#[schemars(extend("anyOf" = [{ "required": ["networks"] }, { "required": ["vpcs"] }]))]
struct Lab {
    lab: LabId,
    /// A title for people.
    title: Text,
    /// What the lab is about, in Markdown.
    description: Text,
    seed: Seed,
    /// Link properties every network and link starts from.
    defaults: Defaults,
    /// L2 segments (subnets), by name.
    networks: Named<Network>,
    /// Routers, by name. A router with nothing written may get all its
    /// interfaces from `links:`.
    routers: Named<OrNothing<Router>>,
    /// Point-to-point router links; each creates a network named
    /// `FIRST-SECOND` (`r1-r2`).
    links: List<Link, 10_000>,
    /// Hosts, by name. Hosts and routers share one namespace.
    hosts: Named<Host>,
    /// Stateful, allow-only filters with AWS semantics, attached to hosts.
    security_groups: Named<OrNothing<SecurityGroup>>,
    /// Stateless, numbered allow/deny filters with AWS semantics, attached
    /// to networks.
    nacls: Named<OrNothing<Nacl>>,
    /// Extension: DNS zones, the hosts that serve them, root hints.
    dns: OrNothing<Dns>,
    /// Extension: certificate authorities, certificates, trust, the date.
    tls: Tls,
    /// Extension: users, their public keys, who may log in where.
    ssh: OrNothing<Ssh>,
    /// Extension: workloads run during `wirelab test`.
    traffic: List<Workload, 10_000>,
    /// Extension: timed changes of links and filters during `wirelab test`.
    events: List<Event, 100_000>,
    /// Extension: TCP settings of every host (a host's `tcp:` overrides
    /// them key by key). Defaults follow Linux.
    tcp: OrNothing<TcpSettings>,
    /// What the lab expects: the graded part.
    checks: List<Check, 100_000>,
    /// Extension: for `wirelab grade`, the parts a submission may change.
    grading: Grading,
    /// Extension: the stages (chapters) of the checks, in order. A stage's
    /// checks run only when every check of the stages before it passes;
    /// every check then names its stage.
    stages: List<Stage, 1_000>,
    /// Extension: per-student variants. `${name}` anywhere in the lab is
    /// replaced by one of the name's choices, drawn from the seed and the
    /// student's id (`wirelab variant LAB --student ID`); without a
    /// student, the first choice.
    variables: Named<Variable>,
    /// Extension: AWS-shaped VPCs, by name, expanded into networks and
    /// routers (`wirelab expand` prints them): subnets, route tables with
    /// the local route, an internet gateway, NAT gateways, elastic IPs.
    /// Hosts join a subnet as `network: VPC/SUBNET`. See
    /// docs/lab-format.md, "VPCs".
    vpcs: Named<Vpc>,
    /// Extension: peerings between two VPCs, by name (a route target).
    /// Not transitive, and no edge-to-edge routing: a peering carries only
    /// traffic that starts or ends in one of its two VPCs.
    vpc_peerings: Named<VpcPeering>,
}

/// One VPC of `vpcs:`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["cidr", "subnets"]))]
struct Vpc {
    /// The VPC's IPv4 prefix (its local route).
    cidr: Ipv4Prefix,
    /// The network joining the VPC's routers in the expansion. Default
    /// `169.254.N.0/24`, N the VPC's position from 1.
    fabric: Ipv4Prefix,
    /// Subnets, by name; each becomes the network `VPC/NAME`.
    subnets: Named<VpcSubnet>,
    /// Route tables, by name: lists of routes. A subnet without
    /// `route_table` uses `main` (only the local route when not declared).
    route_tables: Named<List<VpcRoute, 1_000>>,
    /// The VPC's internet gateway (route target `igw`).
    internet_gateway: InternetGateway,
    /// NAT gateways, by name (a route target).
    nat_gateways: Named<NatGateway>,
    /// Host name → its elastic IP (1:1 NAT at the internet gateway).
    elastic_ips: Named<Ipv4Address>,
}

/// A subnet of a VPC.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["cidr"]))]
struct VpcSubnet {
    /// An IPv4 prefix inside the VPC's `cidr`.
    cidr: Ipv4Prefix,
    /// The name of a route table of the VPC. Default `main`.
    route_table: Text,
    /// The NACL of the subnet's network.
    nacl: NaclName,
    /// The subnet's link properties.
    link: NetworkLinkProps,
}

/// `{ to, target }`: a route of a VPC route table.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["to", "target"]))]
struct VpcRoute {
    /// An IPv4 prefix outside the VPC's CIDR (the local route wins inside).
    to: Ipv4Prefix,
    /// `igw`, a NAT gateway's name or a peering's name.
    target: RouteTarget,
}

leaf!(RouteTarget, {
    "description": "Where the route leads: `igw` (the VPC's internet gateway), the name of one of its NAT gateways, or the name of a peering of the VPC. A target that is gone (detached, deleted, not active) makes the route a blackhole.",
    "type": "string",
    "examples": ["igw", "nat-a", "a-b"]
});

/// `internet_gateway:` of a VPC.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["network"]))]
struct InternetGateway {
    /// The network of `networks:` that stands for the internet.
    network: NetworkName,
    /// The gateway's address there. Default: the highest free one.
    ip: Ipv4Address,
    /// A next hop on that network for everything else (the default route
    /// of the internet and NAT gateways). Default: none.
    gateway: Ipv4Address,
    state: IgwState,
}

leaf!(IgwState, {
    "description": "`attached` (default) or `detached`: routes to a detached gateway are blackholes.",
    "enum": ["attached", "detached"]
});

/// A NAT gateway of a VPC.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["subnet", "elastic_ip"]))]
struct NatGateway {
    /// A public subnet of the VPC (its route table routes to `igw`).
    subnet: Text,
    /// The public address the VPC's connections leave from (ports
    /// 1024-65535), on the internet gateway's network.
    elastic_ip: Ipv4Address,
    state: NatGatewayState,
}

leaf!(NatGatewayState, {
    "description": "`available` (default) or `deleted`: routes to a deleted NAT gateway are blackholes.",
    "enum": ["available", "deleted"]
});

/// A peering of `vpc_peerings:`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["between"]))]
struct VpcPeering {
    between: VpcPair,
    state: PeeringState,
}

leaf!(VpcPair, {
    "description": "The two VPCs (names of `vpcs:`), whose CIDRs may not overlap.",
    "type": "array",
    "items": { "type": "string" },
    "minItems": 2,
    "maxItems": 2,
    "examples": [["a", "b"]]
});

leaf!(PeeringState, {
    "description": "`active` (default), `pending-acceptance` or `deleted`: routes to a peering that is not active are blackholes.",
    "enum": ["active", "pending-acceptance", "deleted"]
});

/// One variable of `variables:`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["choose"]))]
struct Variable {
    /// The values a student may get (1 to 1,000): letters, digits, `.`,
    /// `:`, `/`, `-` and `_`.
    choose: List<Choice, 1_000>,
}

leaf!(Choice, {
    "description": "A value pasted where `${name}` stands: letters, digits, `.`, `:`, `/`, `-` and `_`.",
    "anyOf": [
        { "type": "string", "pattern": "^[A-Za-z0-9.:/_-]+$" },
        { "type": "integer" }
    ]
});

/// One stage of `stages:`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["name"]))]
struct Stage {
    name: StageName,
    /// A title for people.
    title: Text,
    /// What the stage asks, in Markdown.
    description: Text,
}

leaf!(StageName, {
    "description": "A stage's name: lowercase letters, digits, `-` and `_`.",
    "type": "string",
    "pattern": "^[a-z0-9_-]+$",
    "examples": ["connectivity", "security"]
});

/// `grading:` (see docs/grading.md).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["editable"]))]
struct Grading {
    /// The parts of the lab a submission may change, each as section names
    /// joined by dots (`security_groups`, `nacls`, `routers.r1.routes`);
    /// everything else must stay as the teacher wrote it. Without
    /// `grading:`, everything but `lab`, `seed` and `checks` is editable.
    editable: Vec<EditablePath>,
}

leaf!(EditablePath, {
    "description": "A part a submission may change: a section of the lab, then map keys, joined by dots (`security_groups`, `routers.r1.routes`).",
    "type": "string",
    "pattern": "^(title|description|seed|defaults|networks|routers|links|hosts|security_groups|nacls|dns|tls|ssh|traffic|events|tcp|checks|vpcs|vpc_peerings)(\\.[^.]+)*$",
    "examples": ["security_groups", "routers.r1.routes"]
});

/// `defaults:`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Defaults {
    /// Per key, a network or link uses its own value, else this one, else
    /// the built-in one.
    link: LinkProps,
}

/// Link properties of a segment. Per key: the segment's own value, else
/// `defaults.link`, else the built-in default.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct LinkProps {
    /// Default 1Gbps.
    bandwidth: Bandwidth,
    /// One-way delay. Default 100us.
    delay: Delay,
    loss: Loss,
    mtu: Mtu,
    queue: QueuePackets,
    /// Extension: each frame gets an extra delay drawn uniformly from 0 to
    /// this; frames of one interface keep their order. Default 0s.
    jitter: Delay,
    /// Extension: the segment starts down; nothing crosses it until a
    /// `link_up` event. Default false.
    down: Flag,
}

/// Link properties of a network: those of every segment, and its framing.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct NetworkLinkProps {
    #[schemars(flatten)]
    #[allow(dead_code)] // read by schemars only
    props: LinkProps,
    /// Extension: the link layer. `ppp` needs exactly two ends on the
    /// network (hosts and router interfaces): a 2-byte PPP protocol field,
    /// no minimum frame, no address resolution. Default `ethernet`.
    framing: Framing,
}

/// An L2 segment (a subnet). At least one of `cidr` and `ipv6`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("anyOf" = [
    { "required": ["cidr"] },
    { "required": ["ipv6"] }
]))]
struct Network {
    /// The IPv4 prefix.
    cidr: Ipv4Prefix,
    /// The IPv6 prefix.
    ipv6: Ipv6Prefix,
    /// The NACL that filters traffic entering and leaving this network.
    nacl: NaclName,
    /// This network's link properties.
    link: NetworkLinkProps,
}

/// A point-to-point link between two routers, creating the network
/// `FIRST-SECOND`. IPv4: the first router gets the first usable address, the
/// second the next (on /31 both addresses); IPv6: `prefix::1` and
/// `prefix::2`. At least one of `cidr` and `ipv6`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("anyOf" = [
    { "required": ["cidr"] },
    { "required": ["ipv6"] }
]))]
#[schemars(extend("required" = ["between"]))]
struct Link {
    between: Between,
    /// The IPv4 prefix; /32 is too small.
    cidr: Ipv4Prefix,
    /// The IPv6 prefix; /128 is too small.
    ipv6: Ipv6Prefix,
    /// Default 1Gbps.
    bandwidth: Bandwidth,
    /// One-way delay. Default 100us.
    delay: Delay,
    loss: Loss,
    mtu: Mtu,
    queue: QueuePackets,
    /// Extension: an extra delay per frame, uniform from 0 to this.
    jitter: Delay,
    /// Extension: the link starts down.
    down: Flag,
    /// Extension: the link layer. `ethernet` (default): a 14-byte header,
    /// 60-byte minimum frame, ARP and neighbour discovery. `ppp`: a 2-byte
    /// PPP protocol field (RFC 1661), no minimum, no address resolution.
    framing: Framing,
}

/// The link layer of a `links:` entry or a network.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum Framing {
    #[default]
    Ethernet,
    Ppp,
}

/// A router: its interfaces (one per network it attaches to) and static
/// routes. Connected networks are routed implicitly.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Router {
    /// Network name → the router's address there: an address (either
    /// family) or `{ ip, ipv6 }`.
    interfaces: Named<Interface>,
    routes: List<Route, 10_000>,
    /// Extension: address translation (IPv4 only): source NAT /
    /// masquerade, port forwarding, 1:1 mappings (Elastic IPs). See
    /// docs/lab-format.md, "NAT".
    nat: OrNothing<Nat>,
    /// Extension: a link-state routing protocol modelled on OSPFv2 (IPv4).
    /// Nothing under it: every default. See docs/lab-format.md, "Dynamic
    /// routing".
    ospf: OrNothing<Ospf>,
    /// Extension: a distance-vector routing protocol modelled on RIPv2
    /// (IPv4).
    rip: OrNothing<Rip>,
}

/// `ospf:` of a router.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Ospf {
    /// The networks OSPF runs on. Default: every network where the router
    /// has an IPv4 address.
    interfaces: List<NetworkName>,
    /// Of those, the ones that advertise their prefix but send and accept
    /// no OSPF packets.
    passive: List<NetworkName>,
    /// Network name → interface cost (1 to 65535). Default: the reference
    /// bandwidth over the link's bandwidth, at least 1.
    cost: Named<OspfCost>,
    /// Default 100Mbps.
    reference_bandwidth: Bandwidth,
    /// Hello interval (more than 0, at most 1h). Default 10s.
    hello: Time,
    /// Dead interval, longer than `hello`. Default 4 × hello.
    dead: Time,
    /// A dotted quad, unique among OSPF routers. Default: the router's
    /// highest IPv4 address.
    router_id: Ipv4Address,
    /// Administrative distance of OSPF routes (1 to 255). Default 110.
    distance: Distance,
}

/// `rip:` of a router.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Rip {
    /// The networks RIP runs on. Default: every network where the router
    /// has an IPv4 address.
    interfaces: List<NetworkName>,
    /// Of those, the ones that advertise their prefix but send and accept
    /// no RIP messages.
    passive: List<NetworkName>,
    split_horizon: SplitHorizon,
    /// Periodic update interval. Default 30s.
    update: Time,
    /// A route not refreshed for this long becomes unreachable; longer
    /// than `update`. Default 6 × update.
    timeout: Time,
    /// An unreachable route is deleted this long after. Default 4 × update.
    garbage: Time,
    /// Administrative distance of RIP routes (1 to 255). Default 120.
    distance: Distance,
}

/// How routes are advertised back where they were learned. Default
/// poisoned-reverse.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "kebab-case")]
#[allow(dead_code)]
enum SplitHorizon {
    #[default]
    PoisonedReverse,
    Simple,
    Off,
}

leaf!(OspfCost, { "type": "integer", "minimum": 1, "maximum": 65535 });
leaf!(Distance, {
    "description": "An administrative distance: 1 to 255; the lowest wins among routes to the same prefix.",
    "type": "integer", "minimum": 1, "maximum": 255
});

/// `nat:` of a router.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Nat {
    /// Source NAT, first match wins.
    source: List<NatSource, 1_000>,
    /// Port forwarding (destination NAT).
    forward: List<NatForward, 1_000>,
    /// One-to-one mappings (an Elastic IP).
    #[serde(rename = "static")]
    r#static: List<NatStatic, 1_000>,
}

/// `{ from, out, to, ports }`: packets from `from` leaving by `out` get a
/// source address (and port) of `to`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["from", "out", "to"]))]
struct NatSource {
    /// The inside sources: an IPv4 prefix, no host bits set.
    from: Ipv4Prefix,
    /// The outside interface, by the name of its network.
    out: NetworkName,
    to: NatTo,
    /// The ports handed out: `N` or `A-B` within 1-65535. Default
    /// 1024-65535 (an AWS NAT gateway's).
    ports: NatPorts,
}

leaf!(NatTo, {
    "description": "`masquerade` (the IPv4 address of `out`), one IPv4 address, or a range `A-B` of them (a pool, at most 65,536 addresses).",
    "type": "string",
    "examples": ["masquerade", "203.0.113.20", "203.0.113.20-203.0.113.23"]
});
leaf!(NatPorts, {
    "description": "A port (1 to 65535) or a range `A-B` with A ≤ B.",
    "anyOf": [
        { "type": "integer", "minimum": 1, "maximum": 65535 },
        { "type": "string", "pattern": r"^\s*[0-9]+\s*(?:-\s*[0-9]+\s*)?$" }
    ],
    "examples": ["1024-65535", 8080]
});

/// `{ in, proto, port | ports, to }`: what arrives on `in`'s address at
/// those ports goes to `to`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["in", "to"]))]
#[schemars(extend("oneOf" = [{ "required": ["port"] }, { "required": ["ports"] }]))]
struct NatForward {
    /// The outside interface (with an IPv4 address: the public address).
    #[serde(rename = "in")]
    r#in: NetworkName,
    /// Default tcp.
    proto: TransportProto,
    port: Port,
    /// A range, forwarded to the same ports.
    ports: NatPorts,
    /// A host's IPv4 address or name, with `:PORT` when one port goes to
    /// another (`app1:80`).
    to: Text,
}

/// `{ private, public, on }`: a host's address and its public one, both
/// ways.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["private", "public"]))]
struct NatStatic {
    /// A host's IPv4 address or name.
    private: Text,
    /// One IPv4 address.
    public: Ipv4Address,
    /// The outside interface; may be left out when `public` lies in one of
    /// the router's networks.
    on: NetworkName,
}

leaf!(Interface, inline, |g| {
    "description": "The router's address on this network: one address (IPv4 or IPv6), or `{ ip, ipv6 }` (one per family).",
    "anyOf": [
        g.subschema_for::<IpAddress>(),
        g.subschema_for::<InterfaceAddresses>()
    ]
});

/// `{ ip, ipv6 }`: at least one.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("anyOf" = [
    { "required": ["ip"] },
    { "required": ["ipv6"] }
]))]
struct InterfaceAddresses {
    ip: Ipv4Address,
    ipv6: Ipv6Address,
}

/// A static route: `to` a prefix, and exactly one of `via: ADDRESS` or
/// `blackhole: true`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("oneOf" = [
    { "required": ["via"] },
    { "required": ["blackhole"], "properties": { "blackhole": { "const": true } } }
]))]
#[schemars(extend("required" = ["to"]))]
struct Route {
    /// The destination prefix (either family), no host bits set; one route
    /// per prefix on a router.
    to: IpPrefix,
    /// The next hop: an address of the same family as `to`, on a network
    /// connected to this router, not the router's own.
    via: IpAddress,
    /// `true`: packets to `to` are dropped.
    blackhole: Flag,
    /// Extension: the administrative distance (1 to 255, default 1); a
    /// dynamic route to the same prefix with a lower one wins (a floating
    /// static route).
    distance: Distance,
}

/// A host. Its addresses are written or assigned: the first free usable
/// IPv4 address of its network, in file order.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["network"]))]
struct Host {
    /// The network the host is on.
    network: NetworkName,
    /// The IPv4 address; absent: the first free one of the network.
    ip: Ipv4Address,
    /// The IPv6 address; assigned only on an IPv6-only network.
    ipv6: Ipv6Address,
    gateway: Gateways,
    /// Security groups attached to the host; none means no host firewall.
    security_groups: List<GroupName>,
    /// What listens on the host.
    services: List<Service>,
    /// Extension: the resolvers of this host's stub resolver.
    resolver: Resolvers,
    /// Extension: authorities this host trusts besides `tls.trusted`.
    trust: List<AuthorityName>,
    /// Extension: this host's TCP settings, over the lab's `tcp:`.
    tcp: OrNothing<TcpSettings>,
}

/// A service: something listening on a port. The HTTP keys (`tls`,
/// `routes`, `response`, `upstream`, `timeout`, `delay`) are for
/// `app: http` and `app: https` only; `tls` for `app: https` only;
/// `response` and `upstream` exclude each other.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = service_rules)]
#[schemars(extend("required" = ["port"]))]
struct Service {
    port: Port,
    /// tcp (default) or udp.
    proto: TransportProto,
    /// What the service is: `http`, `https`, `dns` (authoritative),
    /// `resolver` (recursive), `ssh` (an sshd), or any label.
    app: AppName,
    /// `app: https`: the TLS version and certificate presented.
    tls: ServiceTls,
    /// First path prefix that matches wins.
    routes: List<HttpRoute, 1_000>,
    /// The answer when no route matches (default: 200 with a 512-byte body).
    response: HttpResponse,
    /// Where requests that no route matches are forwarded.
    upstream: Upstream,
    /// How long to wait for the upstream before answering 504. Default 60s.
    timeout: Time,
    /// Processing time before answering or forwarding. Default 0s.
    delay: Time,
}

fn service_rules(schema: &mut Schema) {
    let http_keys = ["tls", "routes", "response", "upstream", "timeout", "delay"];
    let forbidden = |keys: &[&str]| -> Value {
        let properties: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), Value::Bool(false)))
            .collect();
        serde_json::json!({ "properties": properties })
    };
    let rules = serde_json::json!([
        {
            "if": { "not": { "required": ["app"], "properties": { "app": { "enum": ["http", "https"] } } } },
            "then": forbidden(&http_keys)
        },
        {
            "if": { "not": { "required": ["app"], "properties": { "app": { "const": "https" } } } },
            "then": forbidden(&["tls"])
        },
        { "not": { "required": ["response", "upstream"] } }
    ]);
    schema.insert("allOf".to_string(), rules);
}

leaf!(AppName, {
    "description": "What the service is. `http` and `https` answer requests, `dns` is an authoritative server and `resolver` a recursive one (both on port 53), `ssh` an sshd; any other text is a label.",
    "type": "string",
    "examples": ["http", "https", "dns", "resolver", "ssh", "postgres"]
});

/// A transport protocol.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum TransportProto {
    #[default]
    Tcp,
    Udp,
}

/// The TLS side of an `app: https` service.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct ServiceTls {
    version: TlsVersionValue,
    /// A certificate of `tls.certificates`; absent: a self-signed one that
    /// no client trusts.
    certificate: Text,
}

/// A route of an HTTP service: a fixed answer (`status`, `body`, `text`)
/// or an `upstream` to forward to.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend(
    "not" = { "required": ["body", "text"] },
    "if" = { "required": ["upstream"] },
    "then" = { "properties": { "status": false, "body": false, "text": false } }
))]
#[schemars(extend("required" = ["path"]))]
struct HttpRoute {
    path: UrlPath,
    /// Default 200.
    status: HttpStatus,
    /// The body's size (without `text`). Default 512B.
    body: Size,
    /// The body itself (at most 65,536 bytes); its length is the body's size.
    text: Text,
    upstream: Upstream,
}

/// A fixed answer.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("not" = { "required": ["body", "text"] }))]
struct HttpResponse {
    /// Default 200.
    status: HttpStatus,
    /// The body's size (without `text`). Default 512B.
    body: Size,
    /// The body itself; its length is the body's size.
    text: Text,
}

/// A security group's rules. `inbound` omitted or empty: nothing comes in.
/// `outbound` omitted: anything goes out; `outbound: []`: nothing new goes
/// out.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct SecurityGroup {
    inbound: List<InboundRule, 10_000>,
    outbound: List<OutboundRule, 10_000>,
}

/// The keys shared by every filter rule: what it matches besides its peer.
/// `port` and `ports` exclude each other; `icmp_code` needs `icmp_type`.
fn rule_rules(schema: &mut Schema) {
    schema.insert(
        "not".to_string(),
        serde_json::json!({ "required": ["port", "ports"] }),
    );
    schema.insert(
        "dependencies".to_string(),
        serde_json::json!({ "icmp_code": ["icmp_type"] }),
    );
}

/// An inbound security-group rule: traffic `from` the peer is admitted
/// (and its replies go back).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = rule_rules)]
#[schemars(extend("required" = ["proto", "from"]))]
struct InboundRule {
    proto: RuleProto,
    port: RulePort,
    ports: RulePorts,
    icmp_type: IcmpNumber,
    icmp_code: IcmpNumber,
    from: Peer,
    /// A note for people.
    description: Text,
}

/// An outbound security-group rule: traffic `to` the peer may leave (and
/// its replies come back).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = rule_rules)]
#[schemars(extend("required" = ["proto", "to"]))]
struct OutboundRule {
    proto: RuleProto,
    port: RulePort,
    ports: RulePorts,
    icmp_type: IcmpNumber,
    icmp_code: IcmpNumber,
    to: Peer,
    /// A note for people.
    description: Text,
}

/// A NACL's rules, each direction evaluated in increasing rule number; no
/// match means deny. An omitted direction has no rules.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Nacl {
    inbound: List<NaclRule, 10_000>,
    outbound: List<NaclRule, 10_000>,
}

/// A numbered NACL rule.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = rule_rules)]
#[schemars(extend("required" = ["rule", "action", "proto", "cidr"]))]
struct NaclRule {
    rule: NaclRuleNumber,
    action: NaclAction,
    proto: RuleProto,
    port: RulePort,
    ports: RulePorts,
    icmp_type: IcmpNumber,
    icmp_code: IcmpNumber,
    /// The other end of the traffic: a prefix or (extension) a bare address.
    cidr: RulePrefix,
}

/// What a NACL rule does with what it matches.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum NaclAction {
    #[default]
    Allow,
    Deny,
}

/// TCP behaviour (extension). Defaults follow Linux.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct TcpSettings {
    /// The congestion control. Default cubic.
    congestion: Congestion,
    /// Which CUBIC, when `congestion` is cubic. Default rfc9438.
    cubic: CubicFlavour,
    /// How cwnd grows per ACK. Default bytes.
    increase: Increase,
    /// How a loss reduces the window. Default rfc.
    recovery: Recovery,
    /// The lower bound of the retransmission timeout, 1ms to 60s. Default
    /// 200ms.
    min_rto: Delay,
    /// The retransmission timeout before the first RTT sample (RFC 6298
    /// §2.1), as for a SYN or SYN-ACK: 1ms to 60s. Default 1s.
    initial_rto: Delay,
    delayed_ack: DelayedAck,
    /// Nagle's algorithm. Default true.
    nagle: Flag,
    /// Selective acknowledgements. Default true.
    sack: Flag,
    /// TCP timestamps. Default true.
    timestamps: Flag,
    /// Window scaling. Default true.
    window_scaling: Flag,
    /// The MSS option in SYN and SYN-ACK. false: none, as ns-3 sends; a
    /// SYN without one then means the host's own MSS, not 536 bytes.
    /// Default true.
    mss_option: Flag,
    initial_window: InitialWindow,
    /// Bounds the advertised window, 1KiB to 1GiB. Default 4MiB.
    receive_buffer: Size,
    /// The send buffer, 1KiB to 1GiB. Default 4MiB.
    send_buffer: Size,
}

/// A congestion control.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum Congestion {
    /// CUBIC (RFC 9438), with HyStart++ (RFC 9406).
    #[default]
    Cubic,
    /// NewReno (RFC 5681 + RFC 6582).
    Newreno,
}

/// Which CUBIC.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum CubicFlavour {
    /// RFC 9438 as written.
    #[default]
    Rfc9438,
    /// Linux's tcp_cubic.c.
    Linux,
    /// ns-3.44's TcpCubic.
    Ns3,
}

/// How cwnd grows per ACK.
#[derive(JsonSchema, Default)]
#[allow(dead_code)]
enum Increase {
    /// Count bytes acknowledged, as Linux (RFC 3465).
    #[default]
    #[schemars(rename = "bytes")]
    Bytes,
    /// Count ACKs, as ns-3's NewReno.
    #[schemars(rename = "per-ack")]
    PerAck,
}

/// How a loss reduces the window.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum Recovery {
    /// RFC 5681 and RFC 6937 (PRR-SSRB).
    #[default]
    Rfc,
    /// ns-3.44's model.
    Ns3,
}

/// A workload (extension): from a host to a host or an address, starting at
/// `start`; exactly one of `bulk`, `requests`, `ping`, `onoff`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend(
    "oneOf" = [
        { "required": ["bulk"] },
        { "required": ["requests"] },
        { "required": ["ping"] },
        { "required": ["onoff"] }
    ],
    "if" = { "required": ["ping"] },
    "then" = { "properties": { "port": false } },
    "else" = { "required": ["port"] }
))]
#[schemars(extend("required" = ["name", "from", "to"]))]
struct Workload {
    /// Unique among workloads; a check names it in `traffic:`.
    name: Text,
    from: HostName,
    /// A host, or an IPv4/IPv6 address.
    to: Text,
    /// The destination port; for TCP and UDP workloads, not for `ping`.
    port: Port,
    family: Family,
    /// When it starts. Default 0s.
    start: Time,
    /// One TCP connection that sends this many bytes and closes.
    bulk: Size,
    /// One TCP connection carrying request/response exchanges.
    requests: Requests,
    /// ICMP echo requests (ICMPv6 on ipv6).
    ping: Ping,
    /// UDP datagrams at a rate, on and off.
    onoff: OnOff,
}

/// `requests:` of a workload.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["count", "request", "response"]))]
struct Requests {
    /// How many exchanges.
    count: Count,
    /// The size of each request, 1B to 1GB.
    request: Size,
    /// The size of each response, 1B to 1GB.
    response: Size,
    /// Between a response and the next request. Default 0s.
    think: Time,
}

/// `ping:` of a workload.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["count"]))]
struct Ping {
    /// How many echo requests.
    count: Count,
    /// One request per interval, more than 0. Default 1s.
    interval: Time,
    /// Bytes of data in each request. Default 56.
    size: DatagramSize,
}

/// `onoff:` of a workload: all five keys.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["rate", "on", "off", "packet", "duration"]))]
struct OnOff {
    /// The sending rate while on.
    rate: Bandwidth,
    /// How long it sends, more than 0.
    on: Time,
    /// How long it pauses (`0s`: a constant rate).
    off: Time,
    /// Bytes of payload per datagram.
    packet: DatagramSize,
    /// When it stops, after its start; more than 0.
    duration: Time,
}

/// An address family.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum Family {
    #[default]
    Ipv4,
    Ipv6,
}

/// A timed change (extension): `at` a time, and exactly one of
/// `link_down`, `link_up`, `link` (with `set`), `security_group` or `nacl`
/// (each with exactly one of `add_inbound`, `add_outbound`,
/// `remove_inbound`, `remove_outbound`).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = event_rules)]
#[schemars(extend("required" = ["at"]))]
struct Event {
    /// When, from the start of the run.
    at: Time,
    /// The segment (a network or a link network, `r1-r2`) goes down.
    link_down: NetworkName,
    /// The segment comes back.
    link_up: NetworkName,
    /// The router stops: it forwards nothing and its routing protocols
    /// fall silent.
    router_down: RouterName,
    /// The router starts again, its protocols from scratch.
    router_up: RouterName,
    /// The segment whose properties `set` changes.
    link: NetworkName,
    /// New link properties: the keys written replace the segment's current
    /// ones.
    set: LinkSet,
    /// The security group changed.
    security_group: GroupName,
    /// The NACL changed.
    nacl: NaclName,
    /// A rule to add: a security-group rule, or a numbered NACL rule.
    add_inbound: EventRule,
    add_outbound: EventRule,
    /// The rule to remove: a security-group rule equal to it (`description`
    /// aside), or a NACL rule number.
    remove_inbound: EventRule,
    remove_outbound: EventRule,
}

leaf!(EventRule, inline, |g| {
    "description": "A security-group rule (with `from` inbound, `to` outbound), a NACL rule, or (to remove a NACL rule) its number.",
    "anyOf": [
        g.subschema_for::<InboundRule>(),
        g.subschema_for::<OutboundRule>(),
        g.subschema_for::<NaclRule>(),
        g.subschema_for::<NaclRuleNumber>()
    ]
});

/// The constraints between an event's keys: one action, `set` with `link`
/// only, one change with a security group or NACL, each change of the
/// group's or NACL's kind of rule.
fn event_rules(schema: &mut Schema) {
    let changes = [
        "add_inbound",
        "add_outbound",
        "remove_inbound",
        "remove_outbound",
    ];
    let one_change: Vec<Value> = changes
        .iter()
        .map(|c| serde_json::json!({ "required": [c] }))
        .collect();
    let no_change: serde_json::Map<String, Value> = changes
        .iter()
        .map(|c| (c.to_string(), Value::Bool(false)))
        .collect();
    let rules = vec![
        serde_json::json!({ "oneOf": [
            { "required": ["link_down"] },
            { "required": ["link_up"] },
            { "required": ["router_down"] },
            { "required": ["router_up"] },
            { "required": ["link"] },
            { "required": ["security_group"] },
            { "required": ["nacl"] }
        ] }),
        serde_json::json!({
            "if": { "required": ["link"] },
            "then": { "required": ["set"] },
            "else": { "properties": { "set": false } }
        }),
        serde_json::json!({
            "if": { "anyOf": [{ "required": ["security_group"] }, { "required": ["nacl"] }] },
            "then": { "oneOf": one_change },
            "else": { "properties": no_change }
        }),
        serde_json::json!({
            "if": { "required": ["security_group"] },
            "then": { "properties": {
                "add_inbound": { "$ref": "#/definitions/InboundRule" },
                "remove_inbound": { "$ref": "#/definitions/InboundRule" },
                "add_outbound": { "$ref": "#/definitions/OutboundRule" },
                "remove_outbound": { "$ref": "#/definitions/OutboundRule" }
            } }
        }),
        serde_json::json!({
            "if": { "required": ["nacl"] },
            "then": { "properties": {
                "add_inbound": { "$ref": "#/definitions/NaclRule" },
                "add_outbound": { "$ref": "#/definitions/NaclRule" },
                "remove_inbound": { "$ref": "#/definitions/NaclRuleNumber" },
                "remove_outbound": { "$ref": "#/definitions/NaclRuleNumber" }
            } }
        }),
    ];
    schema.insert("allOf".to_string(), Value::Array(rules));
}

/// `set:` of a `link` event: at least one key.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("minProperties" = 1))]
struct LinkSet {
    bandwidth: Bandwidth,
    delay: Delay,
    loss: Loss,
    mtu: Mtu,
    queue: QueuePackets,
    jitter: Delay,
}

/// `dns:` (extension).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Dns {
    /// The zones: public ones, and private ones (Route 53 private hosted
    /// zones) seen only from their networks.
    zones: List<Zone, 10_000>,
    /// Where resolvers start; default: the servers of the root zone,
    /// declared or synthesized.
    root_hints: List<IpAddress>,
}

/// A zone. Records come from `file`, from `records`, or both; a zone with
/// neither needs `servers`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["name"]))]
struct Zone {
    /// The origin (`example.com`, `com`, or `"."` for the root);
    /// case-insensitive, may end with a dot.
    name: Text,
    /// The hosts that answer for the zone, each with an `app: dns` service.
    servers: List<HostName>,
    /// An RFC 1035 master file, relative to the lab file and inside its
    /// folder.
    file: Text,
    /// Records written here.
    records: List<RecordEntry, 100_000>,
    /// The default TTL of the records written here. Default 300.
    ttl: Ttl,
    /// Networks that see this zone: a Route 53 private hosted zone.
    private: List<NetworkName>,
}

leaf!(RecordEntry, inline, |g| {
    "description": "A record: `{ name, type, value, ttl }`, or one master-file line (`\"shop 300 IN CNAME www\"`).",
    "anyOf": [
        { "type": "string" },
        g.subschema_for::<Record>()
    ]
});

/// A record written inline.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["type", "value"]))]
struct Record {
    /// The owner: relative to the origin (default `@`, the apex), or
    /// absolute with a final dot.
    name: NameOrNumber,
    r#type: RecordType,
    /// The data in master-file syntax (`10 mail` for MX); a TXT value
    /// without quotes is one string.
    value: NameOrNumber,
    /// Default: the zone's `ttl`.
    ttl: Ttl,
}

/// `tls:` (extension).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Tls {
    /// "Today" for certificate validity (never the wall clock). Default
    /// 2026-01-01.
    date: Date,
    /// Certificate authorities, by name.
    authorities: Named<Authority>,
    /// Certificates, by name.
    certificates: Named<Certificate>,
    /// Authorities every host trusts.
    trusted: List<AuthorityName>,
}

/// A certificate. Without dates it is valid from 30 days before the lab's
/// date for 335 days after it; with only `not_after`, for the 397 days
/// before it.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["names"]))]
struct Certificate {
    /// DNS names; `*.example.com` matches exactly one left-most label.
    names: List<Text>,
    /// An authority, or `self`.
    issuer: Text,
    not_before: Date,
    not_after: Date,
}

/// `ssh:` (extension).
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct Ssh {
    /// The people of the lab, by login name (lowercase letters, digits,
    /// `_` and `-`, starting with a letter or `_`, at most 32 characters).
    users: SshUsers,
    /// Each host's sshd accounts, by host name.
    hosts: Named<OrNothing<SshHost>>,
    /// Where `wirelab ssh-gateway`'s logins enter the simulated network.
    gateway: SshGateway,
}

leaf!(SshUsers, inline, |g| {
    "type": ["object", "null"],
    "propertyNames": {
        "description": "A login name, as `useradd` takes it: lowercase letters, digits, `_` and `-`, starting with a letter or `_`, at most 32 characters.",
        "pattern": "^[a-z_][a-z0-9_-]{0,31}$"
    },
    "additionalProperties": g.subschema_for::<OrNothing<SshUser>>()
});

/// A user.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct SshUser {
    keys: PublicKeys,
    /// The user has a password (never written in the lab). Default false.
    password: Flag,
}

/// An sshd's accounts.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
struct SshHost {
    /// Users who may log in, with every key of theirs authorized.
    users: List<Text>,
    /// sshd's `PasswordAuthentication yes`. Default false.
    password_auth: Flag,
}

/// `ssh.gateway`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["from"]))]
struct SshGateway {
    /// The host a real SSH client is taken to be on.
    from: HostName,
}

/// A check. Its kind follows from its keys, in this order: `traffic` (a
/// check on a workload), `dns`, `http`, `ssh`, an `expect` map with
/// `reachable_from`/`nothing_else` (an exhaustive check), else a probe from
/// `from` to `to`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, transform = check_rules)]
#[schemars(extend("required" = ["name"]))]
struct Check {
    /// Unique among checks.
    name: Text,
    /// The host the probe, lookup, request or login starts from.
    from: HostName,
    /// A host, an IPv4/IPv6 address, a DNS name (looked up first) or a URL
    /// (its host and port).
    to: Text,
    proto: CheckProto,
    /// The destination port: required for tcp and udp, not for icmp.
    port: Port,
    /// Default: the family of `to` when it is an address, else ipv4 when the
    /// target has an IPv4 address.
    family: Family,
    expect: Expect,
    /// The reason expected for the outcome.
    reason: Reason,
    /// Routers crossed, in order.
    via: List<RouterName>,
    points: Points,
    /// Shown when the check fails.
    hint: Text,
    /// A workload of `traffic:`: the check grades what it achieved.
    traffic: Text,
    /// A name to look up: this makes it a dns check.
    dns: Text,
    /// dns checks: the record type asked for.
    r#type: QueryType,
    /// dns checks: look the name up twice; the second answer must come from
    /// the resolver's cache.
    cached: Flag,
    /// A URL to request, as curl does: this makes it an http check.
    http: Url,
    /// A login: this makes it an ssh check.
    ssh: SshLogin,
    /// ssh checks: jump hosts.
    jump: JumpHosts,
    /// ssh checks: how to log in. Default any.
    auth: SshAuth,
    /// The stage (a name of `stages:`) the check belongs to: required when
    /// the lab has stages, refused when it has none.
    stage: StageName,
    /// A probe starts at this time of the lab's events and routing (not at
    /// time zero); a convergence check grades the first link or router
    /// change at or after it.
    at: Time,
}

leaf!(Expect, inline, |g| {
    "description": "What the check expects. A probe: allow, deny or refused. A dns check: resolves, nxdomain, nodata, servfail, refused, timeout, fail, or { answers }. A check on a workload: { complete_within, goodput_at_least }. An http check: { status | error, ... }. An exhaustive check: { reachable_from, nothing_else }.",
    "anyOf": [
        g.subschema_for::<Outcome>(),
        g.subschema_for::<DnsOutcome>(),
        g.subschema_for::<DnsAnswers>(),
        g.subschema_for::<FlowExpect>(),
        g.subschema_for::<HttpExpect>(),
        g.subschema_for::<ReachExpect>(),
        g.subschema_for::<ConvergenceExpect>()
    ]
});

/// What a convergence check expects.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("required" = ["converged_within"]))]
struct ConvergenceExpect {
    /// Every router's table settles within this time of the start and of
    /// each link or router change (more than 0).
    converged_within: Time,
}

/// The constraints between a check's keys, one rule per kind.
fn check_rules(schema: &mut Schema) {
    let forbid = |keys: &[&str]| -> Value {
        let properties: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), Value::Bool(false)))
            .collect();
        Value::Object(properties)
    };
    let expect =
        |definition: &str| serde_json::json!({ "$ref": format!("#/definitions/{definition}") });
    let has = |key: &str| serde_json::json!({ "required": [key] });
    let lacks = |keys: &[&str]| -> Value {
        let any: Vec<Value> = keys.iter().map(|k| has(k)).collect();
        serde_json::json!({ "not": { "anyOf": any } })
    };
    let exhaustive = serde_json::json!({
        "required": ["expect"],
        "properties": { "expect": { "type": "object", "anyOf": [
            { "required": ["reachable_from"] },
            { "required": ["nothing_else"] }
        ] } }
    });
    let mut flow = forbid(&["from", "to", "proto", "port", "family", "reason", "via"]);
    flow["expect"] = expect("FlowExpect");
    let mut dns = forbid(&["to", "proto", "port", "reason", "via", "ssh"]);
    dns["expect"] = serde_json::json!({ "anyOf": [expect("DnsOutcome"), expect("DnsAnswers")] });
    let mut http = forbid(&["to", "proto", "port", "reason", "via", "type", "cached"]);
    http["expect"] = expect("HttpExpect");
    let mut ssh = forbid(&["to", "proto", "port", "via"]);
    ssh["expect"] = serde_json::json!({ "enum": ["allow", "deny"] });
    let mut reach = forbid(&["from", "reason", "via"]);
    reach["expect"] = expect("ReachExpect");
    let convergence = serde_json::json!({
        "required": ["expect"],
        "properties": { "expect": { "type": "object", "required": ["converged_within"] } }
    });
    let mut converge = forbid(&["from", "to", "proto", "port", "family", "reason", "via"]);
    converge["expect"] = expect("ConvergenceExpect");
    let mut probe = serde_json::Map::new();
    probe.insert("expect".to_string(), expect("Outcome"));
    let not_icmp = serde_json::json!({
        "not": { "required": ["proto"], "properties": { "proto": { "const": "icmp" } } }
    });
    let rules = serde_json::json!([
        { "if": has("traffic"), "then": { "required": ["expect"], "properties": flow } },
        {
            "if": { "allOf": [has("dns"), lacks(&["traffic"])] },
            "then": { "required": ["from", "expect"], "properties": dns }
        },
        {
            "if": { "allOf": [has("http"), lacks(&["traffic", "dns"])] },
            "then": { "required": ["from", "expect"], "properties": http }
        },
        {
            "if": { "allOf": [has("ssh"), lacks(&["traffic", "dns", "http"])] },
            "then": { "required": ["from", "expect"], "properties": ssh }
        },
        { "if": lacks(&["ssh"]), "then": { "properties": forbid(&["jump", "auth"]) } },
        {
            "if": lacks(&["traffic", "dns", "http", "ssh"]),
            "then": { "properties": forbid(&["type", "cached"]) }
        },
        {
            "if": { "allOf": [lacks(&["traffic", "dns", "http", "ssh"]), exhaustive] },
            "then": { "required": ["to", "expect"], "properties": reach }
        },
        {
            "if": { "allOf": [lacks(&["traffic", "dns", "http", "ssh"]), convergence] },
            "then": { "properties": converge }
        },
        {
            "if": { "allOf": [
                lacks(&["traffic", "dns", "http", "ssh"]),
                { "not": exhaustive },
                { "not": convergence }
            ] },
            "then": { "required": ["from", "to", "expect"], "properties": probe }
        },
        {
            "if": { "required": ["proto"], "properties": { "proto": { "const": "icmp" } } },
            "then": { "properties": { "port": false } }
        },
        // tcp (the default) and udp need a port; a probe to a URL takes it
        // from the URL.
        {
            "if": { "allOf": [lacks(&["traffic", "dns", "http", "ssh"]), exhaustive, not_icmp.clone()] },
            "then": { "required": ["port"] }
        },
        {
            "if": { "allOf": [
                lacks(&["traffic", "dns", "http", "ssh"]),
                { "not": exhaustive },
                // A convergence check sends nothing: no port.
                { "not": convergence },
                not_icmp,
                { "not": { "required": ["to"], "properties": { "to": { "pattern": "^https?://" } } } }
            ] },
            "then": { "required": ["port"] }
        }
    ]);
    schema.insert("allOf".to_string(), rules);
}

/// The protocol of a probe: tcp (default), udp or icmp (ICMP echo, or
/// ICMPv6 echo when the family is ipv6).
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum CheckProto {
    #[default]
    Tcp,
    Udp,
    Icmp,
}

/// The outcome of a probe.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum Outcome {
    /// The request was delivered (and, for tcp, the handshake completed).
    #[default]
    Allow,
    /// The request was dropped on the way.
    Deny,
    /// The destination answered with a refusal (TCP RST, ICMP port
    /// unreachable).
    Refused,
}

/// What a dns check expects.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "lowercase")]
#[allow(dead_code)]
enum DnsOutcome {
    /// NOERROR with at least one record of the type.
    #[default]
    Resolves,
    /// The name does not exist.
    Nxdomain,
    /// NOERROR, no record of the type.
    Nodata,
    Servfail,
    Refused,
    /// No answer at all.
    Timeout,
    /// Anything but `resolves`.
    Fail,
}

/// A dns check's exact answer: NOERROR whose records of the type are
/// exactly these, as a set, in presentation format.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields)]
#[schemars(extend("required" = ["answers"]))]
struct DnsAnswers {
    answers: List<NameOrNumber>,
}

/// What a workload must achieve: at least one key.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("minProperties" = 1))]
struct FlowExpect {
    /// It finishes within this time of its start (more than 0).
    complete_within: Time,
    /// Application bytes delivered divided by the completion time.
    goodput_at_least: Bandwidth,
}

/// What an http check expects: `status` or `error`; with `error`, no
/// `status`, `body_at_least` or `contains`.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend(
    "anyOf" = [{ "required": ["status"] }, { "required": ["error"] }],
    "if" = { "required": ["error"] },
    "then" = { "properties": { "status": false, "body_at_least": false, "contains": false } }
))]
struct HttpExpect {
    status: HttpStatus,
    /// The body has at least this size.
    body_at_least: Size,
    /// A substring of the body's `text`.
    contains: Text,
    /// The whole request, name lookup included, takes at most this.
    within: Time,
    error: HttpError,
}

/// How a request fails, as curl reports it.
#[derive(JsonSchema, Default)]
#[allow(dead_code)]
enum HttpError {
    /// The name did not resolve (curl 6).
    #[default]
    #[schemars(rename = "resolve")]
    Resolve,
    /// Connection refused (curl 7).
    #[schemars(rename = "refused")]
    Refused,
    /// No connection: dropped or unreachable (curl 28).
    #[schemars(rename = "connect")]
    Connect,
    /// Connected, no answer in time (curl 28).
    #[schemars(rename = "timeout")]
    Timeout,
    /// The certificate does not name the host (curl 60).
    #[schemars(rename = "tls-name")]
    TlsName,
    /// The certificate's issuer is not trusted (curl 60).
    #[schemars(rename = "tls-issuer")]
    TlsIssuer,
    /// The certificate is expired or not yet valid (curl 60).
    #[schemars(rename = "tls-expired")]
    TlsExpired,
    /// The two ends speak different protocols (curl 35 or 52).
    #[schemars(rename = "protocol")]
    Protocol,
}

/// What an exhaustive check expects, answered by the static analysis.
#[derive(JsonSchema, Default)]
#[schemars(default, deny_unknown_fields, extend("minProperties" = 1))]
struct ReachExpect {
    /// Sources that must each reach `to`: hosts, security groups (every
    /// member), networks (every address), addresses and prefixes, and
    /// `internet`.
    reachable_from: List<NameOrNumber>,
    /// `true`: nothing else may reach `to`.
    nothing_else: Flag,
}

/// How an ssh check logs in.
#[derive(JsonSchema, Default)]
#[allow(dead_code)]
enum SshAuth {
    /// A key, else a password.
    #[default]
    #[schemars(rename = "any")]
    Any,
    /// Keys only (`-o PasswordAuthentication=no`).
    #[schemars(rename = "key")]
    Key,
    /// The same as `key`.
    #[schemars(rename = "publickey")]
    Publickey,
    /// A password only (`-o PubkeyAuthentication=no`).
    #[schemars(rename = "password")]
    Password,
}

/// Why a packet or a login ended where it did.
#[derive(JsonSchema, Default)]
#[schemars(rename_all = "kebab-case")]
#[allow(dead_code)]
enum Reason {
    /// It arrived.
    #[default]
    Delivered,
    /// The destination refused it (TCP RST, ICMP port unreachable).
    Refused,
    /// A router had no route.
    NoRoute,
    /// A blackhole route dropped it.
    Blackhole,
    /// Its TTL ran out.
    TtlExceeded,
    /// The last hop found no one at the address.
    HostUnreachable,
    /// The destination's security groups did not admit it.
    SgInbound,
    /// The source's security groups did not let it out.
    SgOutbound,
    /// A NACL dropped it on the way in to a network.
    NaclInbound,
    /// A NACL dropped it on the way out of a network.
    NaclOutbound,
    /// No answer in time.
    Timeout,
    /// Extension: a name in `to` did not resolve.
    Dns,
    /// ssh checks: the host has no `app: ssh` service.
    NoSshd,
    /// ssh checks: the host does not list the user.
    KeyNotAuthorized,
    /// ssh checks: the user has no key, and no password login either.
    NoKey,
    /// ssh checks: only a password could log in, and it was refused.
    PasswordRefused,
    /// A NAT router had no translation for a packet crossing its boundary.
    NatUnmapped,
    /// A NAT rule had no free port (or address) left.
    NatPortsExhausted,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::build::key_lists as keys;

    fn definition<'a>(schema: &'a Value, name: &str) -> &'a Value {
        schema["definitions"]
            .get(name)
            .unwrap_or_else(|| panic!("no definition `{name}` in the schema"))
    }

    fn property_names(schema: &Value) -> BTreeSet<String> {
        schema["properties"]
            .as_object()
            .expect("an object schema with properties")
            .keys()
            .cloned()
            .collect()
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    /// The keys each part of the schema allows are exactly the keys the
    /// reader accepts there: adding a key to one without the other fails.
    #[test]
    fn schema_keys_equal_the_readers_keys() {
        let schema = lab_schema();
        let network_link_keys: Vec<&str> = keys::PROPS_KEYS
            .iter()
            .copied()
            .chain(["framing"])
            .collect();
        assert_eq!(property_names(&schema), set(&keys::TOP_KEYS), "top level");
        let sections: &[(&str, &[&str])] = &[
            ("Defaults", &["link"]),
            ("LinkProps", &keys::PROPS_KEYS),
            ("NetworkLinkProps", &network_link_keys),
            ("Network", &keys::NETWORK_KEYS),
            ("Link", &keys::LINK_KEYS),
            ("Router", &keys::ROUTER_KEYS),
            ("InterfaceAddresses", &keys::INTERFACE_KEYS),
            ("Route", &keys::ROUTE_KEYS),
            ("LinkSet", &keys::SET_KEYS),
            ("Host", &keys::HOST_KEYS),
            ("Service", &keys::SERVICE_KEYS),
            ("ServiceTls", &keys::SERVICE_TLS_KEYS),
            ("HttpRoute", &keys::HTTP_ROUTE_KEYS),
            ("HttpResponse", &keys::RESPONSE_KEYS),
            ("HttpExpect", &keys::HTTP_EXPECT_KEYS),
            ("Tls", &keys::TLS_KEYS),
            ("Certificate", &keys::CERTIFICATE_KEYS),
            ("SecurityGroup", &keys::DIRECTION_KEYS),
            ("Nacl", &keys::DIRECTION_KEYS),
            ("NaclRule", &keys::NACL_RULE_KEYS),
            ("TcpSettings", &keys::TCP_KEYS),
            ("Workload", &keys::TRAFFIC_KEYS),
            ("Requests", &keys::REQUESTS_KEYS),
            ("Ping", &keys::PING_KEYS),
            ("OnOff", &keys::ONOFF_KEYS),
            ("Event", &keys::EVENT_KEYS),
            ("Dns", &keys::DNS_KEYS),
            ("Zone", &keys::ZONE_KEYS),
            ("Record", &keys::RECORD_KEYS),
            ("Ssh", &keys::SSH_KEYS),
            ("SshUser", &keys::USER_KEYS),
            ("SshHost", &keys::SSH_HOST_KEYS),
            ("SshGateway", &keys::GATEWAY_KEYS),
            ("Check", &keys::CHECK_KEYS),
            ("Stage", &keys::STAGE_KEYS),
            ("Variable", &keys::VARIABLE_KEYS),
            ("Nat", &keys::NAT_KEYS),
            ("NatSource", &keys::SOURCE_KEYS),
            ("NatForward", &keys::FORWARD_KEYS),
            ("NatStatic", &keys::STATIC_KEYS),
            ("Vpc", &keys::VPC_KEYS),
            ("VpcSubnet", &keys::SUBNET_KEYS),
            ("VpcRoute", &keys::VPC_ROUTE_KEYS),
            ("InternetGateway", &keys::IGW_KEYS),
            ("NatGateway", &keys::NAT_GATEWAY_KEYS),
            ("VpcPeering", &keys::PEERING_KEYS),
            ("DnsAnswers", &keys::DNS_EXPECT_KEYS),
            ("FlowExpect", &keys::FLOW_EXPECT_KEYS),
            ("ReachExpect", &keys::EXHAUSTIVE_EXPECT_KEYS),
            ("ConvergenceExpect", &keys::CONVERGENCE_EXPECT_KEYS),
            ("Ospf", &keys::OSPF_KEYS),
            ("Rip", &keys::RIP_KEYS),
        ];
        for (name, reader_keys) in sections {
            assert_eq!(
                property_names(definition(&schema, name)),
                set(reader_keys),
                "the keys of `{name}`"
            );
        }
        // The reader takes both peers on a security-group rule and rejects
        // the wrong one with a message of its own; the schema splits the
        // rule by direction.
        let mut inbound = property_names(definition(&schema, "InboundRule"));
        let outbound = property_names(definition(&schema, "OutboundRule"));
        assert!(!inbound.contains("to") && !outbound.contains("from"));
        inbound.extend(outbound);
        assert_eq!(inbound, set(&keys::SG_RULE_KEYS), "security-group rules");
    }

    /// Every struct that the reader reads with a key list rejects other
    /// keys in the schema too.
    #[test]
    fn objects_reject_unknown_keys() {
        let schema = lab_schema();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        for (name, def) in schema["definitions"].as_object().unwrap() {
            if def.get("properties").is_some() {
                assert_eq!(
                    def["additionalProperties"],
                    Value::Bool(false),
                    "`{name}` accepts unknown keys"
                );
            }
        }
    }

    /// The closed sets of the schema are the reader's.
    #[test]
    fn enums_equal_the_readers_values() {
        let schema = lab_schema();
        let values = |name: &str| -> BTreeSet<String> {
            let def = definition(&schema, name);
            let list: Vec<Value> = match def.get("enum") {
                Some(Value::Array(v)) => v.clone(),
                _ => def["oneOf"]
                    .as_array()
                    .unwrap_or_else(|| panic!("`{name}` is no enum"))
                    .iter()
                    .flat_map(|v| match v.get("enum") {
                        Some(Value::Array(e)) => e.clone(),
                        _ => vec![v["const"].clone()],
                    })
                    .collect(),
            };
            list.iter()
                .map(|v| v.as_str().expect("a string value").to_string())
                .collect()
        };
        let reasons: Vec<&str> = crate::Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(values("Reason"), set(&reasons));
        let errors: Vec<&str> = crate::HttpError::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(values("HttpError"), set(&errors));
        assert_eq!(values("DnsOutcome"), set(&keys::DNS_OUTCOMES));
        assert_eq!(values("Congestion"), set(&keys::CONGESTION_NAMES));
        assert_eq!(values("CubicFlavour"), set(&keys::CUBIC_NAMES));
        assert_eq!(values("Increase"), set(&keys::INCREASE_NAMES));
        assert_eq!(values("SplitHorizon"), set(&keys::SPLIT_HORIZON));
        assert_eq!(values("Recovery"), set(&keys::RECOVERY_NAMES));
        assert_eq!(values("IgwState"), set(&keys::IGW_STATES));
        assert_eq!(values("NatGatewayState"), set(&keys::NAT_GATEWAY_STATES));
        assert_eq!(values("PeeringState"), set(&keys::PEERING_STATES));
        assert_eq!(set(&QUERY_TYPES), set(&keys::DNS_TYPES));
        assert_eq!(
            set(&RECORD_TYPES),
            wirelab_dns::zone::INLINE_RECORD_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect()
        );
    }

    /// The rules written by hand (`check_rules`, `event_rules`, ...) name
    /// definitions by path: each must exist.
    #[test]
    fn every_reference_resolves() {
        fn walk(value: &Value, refs: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        refs.push(r.clone());
                    }
                    map.values().for_each(|v| walk(v, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let schema = lab_schema();
        let mut refs = Vec::new();
        walk(&schema, &mut refs);
        assert!(refs.len() > 100);
        for r in refs {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("`{r}` is not a definition"));
            assert!(
                schema["definitions"].get(name).is_some(),
                "`{r}` resolves to nothing"
            );
        }
    }

    #[test]
    fn output_is_stable() {
        assert_eq!(lab_schema_json(), lab_schema_json());
        assert!(lab_schema_json().ends_with("}\n"));
    }
}
