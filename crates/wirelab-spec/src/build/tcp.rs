//! `tcp:` settings, at the top level and per host (extension). A host's
//! keys override the lab's, which override the built-in (Linux-like) ones.

use crate::model::{CongestionControl, CubicVariant, LossRecovery, TcpSettings, WindowIncrease};
use crate::quantity;
use crate::read::{self, did_you_mean, Diags};
use crate::yaml::{Node, Value};

pub(crate) const TCP_KEYS: [&str; 15] = [
    "congestion",
    "cubic",
    "increase",
    "recovery",
    "min_rto",
    "initial_rto",
    "delayed_ack",
    "nagle",
    "sack",
    "timestamps",
    "window_scaling",
    "mss_option",
    "initial_window",
    "receive_buffer",
    "send_buffer",
];
pub(crate) const CONGESTION_NAMES: [&str; 2] = ["cubic", "newreno"];
pub(crate) const INCREASE_NAMES: [&str; 2] = ["bytes", "per-ack"];
pub(crate) const RECOVERY_NAMES: [&str; 2] = ["rfc", "ns3"];
pub(crate) const CUBIC_NAMES: [&str; 3] = ["rfc9438", "linux", "ns3"];
/// Bounds of `min_rto` and `initial_rto`: 1 ms ..= 60 s.
const RTO_NS: (u64, u64) = (1_000_000, 60_000_000_000);
/// Longest delayed ACK (RFC 1122 §4.2.3.2: less than 0.5 s).
const DELAYED_ACK_NS_MAX: u64 = 500_000_000;
const INITIAL_WINDOW_MAX: i128 = 100;
/// Bounds of the socket buffers: 1KiB ..= 1GiB (the largest scaled window).
const BUFFER_BYTES: (u64, u64) = (1 << 10, 1 << 30);

/// TCP settings as written: each key may be absent.
#[derive(Clone, Debug, Default)]
pub(crate) struct TcpDraft {
    congestion: Option<CongestionControl>,
    cubic: Option<CubicVariant>,
    increase: Option<WindowIncrease>,
    recovery: Option<LossRecovery>,
    min_rto_ns: Option<u64>,
    initial_rto_ns: Option<u64>,
    delayed_ack_ns: Option<Option<u64>>,
    nagle: Option<bool>,
    sack: Option<bool>,
    timestamps: Option<bool>,
    window_scaling: Option<bool>,
    mss_option: Option<bool>,
    initial_window: Option<u32>,
    receive_buffer: Option<u32>,
    send_buffer: Option<u32>,
}

impl TcpDraft {
    /// `base` with the keys written here replaced.
    pub(crate) fn apply_over(&self, base: TcpSettings) -> TcpSettings {
        TcpSettings {
            congestion: self.congestion.unwrap_or(base.congestion),
            cubic: self.cubic.unwrap_or(base.cubic),
            increase: self.increase.unwrap_or(base.increase),
            recovery: self.recovery.unwrap_or(base.recovery),
            min_rto_ns: self.min_rto_ns.unwrap_or(base.min_rto_ns),
            initial_rto_ns: self.initial_rto_ns.unwrap_or(base.initial_rto_ns),
            delayed_ack_ns: self.delayed_ack_ns.unwrap_or(base.delayed_ack_ns),
            nagle: self.nagle.unwrap_or(base.nagle),
            sack: self.sack.unwrap_or(base.sack),
            timestamps: self.timestamps.unwrap_or(base.timestamps),
            window_scaling: self.window_scaling.unwrap_or(base.window_scaling),
            mss_option: self.mss_option.unwrap_or(base.mss_option),
            initial_window: self.initial_window.unwrap_or(base.initial_window),
            receive_buffer: self.receive_buffer.unwrap_or(base.receive_buffer),
            send_buffer: self.send_buffer.unwrap_or(base.send_buffer),
        }
    }
}

/// Reads a `tcp:` map; `what` names its owner ("the lab", "host `a`").
pub(crate) fn read_tcp(node: &Node, what: &str, d: &mut Diags) -> TcpDraft {
    let mut tcp = TcpDraft::default();
    if let Value::Null = node.value {
        return tcp;
    }
    let Some(fields) = read::fields(
        node,
        &TCP_KEYS,
        &format!("the TCP settings of {what}"),
        node.span,
        d,
    ) else {
        return tcp;
    };
    if let Some(n) = fields.get("congestion") {
        tcp.congestion = match read::string(n, "`congestion`", d) {
            Some("cubic") => Some(CongestionControl::Cubic),
            Some("newreno") => Some(CongestionControl::NewReno),
            Some(other) => {
                let help = did_you_mean(&other.to_ascii_lowercase(), CONGESTION_NAMES)
                    .or_else(|| (other == "reno").then(|| "did you mean `newreno`?".to_string()));
                d.error_help(
                    n.span,
                    format!("congestion control `{other}` must be cubic or newreno"),
                    help,
                );
                None
            }
            None => None,
        };
    }
    if let Some(n) = fields.get("increase") {
        tcp.increase = match read::string(n, "`increase`", d) {
            Some("bytes") => Some(WindowIncrease::Bytes),
            Some("per-ack") => Some(WindowIncrease::PerAck),
            Some(other) => {
                let help = did_you_mean(&other.to_ascii_lowercase(), INCREASE_NAMES);
                d.error_help(
                    n.span,
                    format!("window increase `{other}` must be bytes or per-ack"),
                    help,
                );
                None
            }
            None => None,
        };
    }
    if let Some(n) = fields.get("cubic") {
        tcp.cubic = match read::string(n, "`cubic`", d) {
            Some("rfc9438") => Some(CubicVariant::Rfc9438),
            Some("linux") => Some(CubicVariant::Linux),
            Some("ns3") => Some(CubicVariant::Ns3),
            Some(other) => {
                let help = did_you_mean(&other.to_ascii_lowercase(), CUBIC_NAMES);
                d.error_help(
                    n.span,
                    format!("CUBIC variant `{other}` must be rfc9438, linux or ns3"),
                    help,
                );
                None
            }
            None => None,
        };
    }
    if let Some(n) = fields.get("recovery") {
        tcp.recovery = match read::string(n, "`recovery`", d) {
            Some("rfc") => Some(LossRecovery::Rfc),
            Some("ns3") => Some(LossRecovery::Ns3),
            Some(other) => {
                let help = did_you_mean(&other.to_ascii_lowercase(), RECOVERY_NAMES);
                d.error_help(
                    n.span,
                    format!("loss recovery `{other}` must be rfc or ns3"),
                    help,
                );
                None
            }
            None => None,
        };
    }
    for (key, slot) in [
        ("min_rto", &mut tcp.min_rto_ns),
        ("initial_rto", &mut tcp.initial_rto_ns),
    ] {
        if let Some(n) = fields.get(key) {
            *slot = read_delay(n, &format!("`{key}`"), d).and_then(|ns| {
                if (RTO_NS.0..=RTO_NS.1).contains(&ns) {
                    Some(ns)
                } else {
                    d.error(n.span, format!("`{key}` must be between 1ms and 60s"));
                    None
                }
            });
        }
    }
    if let Some(n) = fields.get("delayed_ack") {
        tcp.delayed_ack_ns = match &n.value {
            Value::Str(s) if s == "off" => Some(None),
            Value::Bool(false) => Some(None),
            Value::Bool(true) => {
                d.error(n.span, "`delayed_ack` is a delay like `40ms`, or `off`");
                None
            }
            _ => read_delay(n, "`delayed_ack`", d).and_then(|ns| {
                if ns == 0 {
                    d.error_help(
                        n.span,
                        "`delayed_ack` must be more than 0",
                        Some(
                            "write `delayed_ack: off` to acknowledge every segment at once"
                                .to_string(),
                        ),
                    );
                    None
                } else if ns > DELAYED_ACK_NS_MAX {
                    d.error(n.span, "`delayed_ack` must be at most 500ms (RFC 1122)");
                    None
                } else {
                    Some(Some(ns))
                }
            }),
        };
    }
    let flags: [(&str, &mut Option<bool>); 5] = [
        ("nagle", &mut tcp.nagle),
        ("sack", &mut tcp.sack),
        ("timestamps", &mut tcp.timestamps),
        ("window_scaling", &mut tcp.window_scaling),
        ("mss_option", &mut tcp.mss_option),
    ];
    for (key, slot) in flags {
        if let Some(n) = fields.get(key) {
            *slot = read::boolean(n, &format!("`{key}`"), d);
        }
    }
    if let Some(n) = fields.get("initial_window") {
        tcp.initial_window =
            read::int_in(n, "`initial_window` (segments)", 1, INITIAL_WINDOW_MAX, d)
                .map(|w| w as u32);
    }
    for (key, slot) in [
        ("receive_buffer", &mut tcp.receive_buffer),
        ("send_buffer", &mut tcp.send_buffer),
    ] {
        if let Some(n) = fields.get(key) {
            *slot = read_size(n, &format!("`{key}`"), d).and_then(|bytes| {
                if (BUFFER_BYTES.0..=BUFFER_BYTES.1).contains(&bytes) {
                    Some(bytes as u32)
                } else {
                    d.error(n.span, format!("`{key}` must be between 1KiB and 1GiB"));
                    None
                }
            });
        }
    }
    tcp
}

/// A delay (`40ms`) as written in `node`.
pub(crate) fn read_delay(node: &Node, what: &str, d: &mut Diags) -> Option<u64> {
    let text = read::scalar_text(node, what, d)?;
    quantity::parse_delay(&text)
        .map_err(|e| d.error(node.span, e.replacen("delay `", &format!("{what} `"), 1)))
        .ok()
}

/// A size (`4MB`, `64KiB`) as written in `node`.
pub(crate) fn read_size(node: &Node, what: &str, d: &mut Diags) -> Option<u64> {
    let text = read::scalar_text(node, what, d)?;
    quantity::parse_size(&text)
        .map_err(|e| d.error(node.span, e.replacen("size `", &format!("{what} `"), 1)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (TcpSettings, bool) {
        let node = crate::yaml::load(text).expect("valid YAML");
        let mut d = Diags::new("lab.yaml");
        let settings = read_tcp(&node, "the lab", &mut d).apply_over(TcpSettings::default());
        (settings, d.has_errors())
    }

    #[test]
    fn recovery_is_rfc_unless_a_lab_asks_for_ns3() {
        assert_eq!(read("{}").0.recovery, LossRecovery::Rfc);
        assert_eq!(read("{ recovery: ns3 }").0.recovery, LossRecovery::Ns3);
        let (settings, errors) = read("{ recovery: linux }");
        assert!(errors);
        assert_eq!(settings.recovery, LossRecovery::Rfc);
    }

    #[test]
    fn cubic_is_rfc9438_unless_a_lab_asks_for_linux_or_ns3() {
        assert_eq!(read("{}").0.cubic, CubicVariant::Rfc9438);
        assert_eq!(read("{ cubic: linux }").0.cubic, CubicVariant::Linux);
        assert_eq!(read("{ cubic: ns3 }").0.cubic, CubicVariant::Ns3);
        let (settings, errors) = read("{ cubic: bic }");
        assert!(errors);
        assert_eq!(settings.cubic, CubicVariant::Rfc9438);
    }
}
