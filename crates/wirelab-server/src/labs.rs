//! The labs a server holds: their source, validation state and, for valid
//! ones, the running actor.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wirelab_net::{Network, NodeKind};
use wirelab_spec::{Diagnostic, Loaded, Severity};

use crate::actor::LabActor;
use crate::views::{
    DiagnosticView, InterfaceView, LabCounts, LabDetail, LabSummary, LinkView, NetworkView,
    NodeView, Topology,
};
use crate::{Config, LabSource, ServeError};

/// How a lab's text was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Yaml,
    Json,
}

impl SourceFormat {
    pub fn code(self) -> &'static str {
        match self {
            SourceFormat::Yaml => "yaml",
            SourceFormat::Json => "json",
        }
    }
}

/// Lab ids: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub struct LabEntry {
    pub id: String,
    pub format: SourceFormat,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
    pub valid: Option<ValidLab>,
}

pub struct ValidLab {
    pub topology: Topology,
    pub actor: LabActor,
    /// The report of the last `POST /runs`, for `/metrics`.
    pub last_report: Mutex<Option<Arc<wirelab_check::Report>>>,
}

impl LabEntry {
    pub fn validation(&self) -> &'static str {
        if self.valid.is_some() {
            "valid"
        } else {
            "invalid"
        }
    }

    fn net(&self) -> Option<&Network> {
        self.valid.as_ref().map(|v| &*v.actor.net)
    }

    pub fn summary(&self) -> LabSummary {
        let net = self.net();
        LabSummary {
            id: self.id.clone(),
            validation: self.validation().to_string(),
            name: net.map(|n| n.lab.lab.value.clone()),
            title: net.and_then(|n| n.lab.title.clone()),
            clock: self
                .valid
                .as_ref()
                .map(|v| v.actor.clock.lock().expect("clock lock").view()),
        }
    }

    pub fn detail(&self) -> LabDetail {
        let summary = self.summary();
        let lab = self.net().map(|n| &n.lab);
        LabDetail {
            id: self.id.clone(),
            validation: summary.validation,
            format: self.format.code().to_string(),
            source: self.source.clone(),
            diagnostics: self.diagnostics.iter().map(diagnostic_view).collect(),
            name: summary.name,
            title: summary.title,
            description: lab.and_then(|l| l.description.clone()),
            seed: lab.map(|l| l.seed),
            counts: lab.map(|l| LabCounts {
                networks: l.networks.len(),
                routers: l.routers.len(),
                hosts: l.hosts.len(),
                security_groups: l.security_groups.len(),
                nacls: l.nacls.len(),
                checks: l.checks.len(),
                traffic: l.traffic.len(),
                events: l.events.len(),
            }),
            clock: summary.clock,
        }
    }
}

pub fn diagnostic_view(d: &Diagnostic) -> DiagnosticView {
    DiagnosticView {
        text: d.to_string(),
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
        .to_string(),
        line: d.span.line,
        column: d.span.column,
        message: d.message.clone(),
        help: d.help.clone(),
    }
}

/// Everything the server holds.
pub struct State {
    pub config: Config,
    pub labs: Mutex<BTreeMap<String, Arc<LabEntry>>>,
    /// Runs of checks and traces in progress.
    pub jobs: Arc<tokio::sync::Semaphore>,
}

/// What a PUT did.
pub enum PutOutcome {
    Created,
    Replaced,
    /// The same text as the lab already held: nothing changed.
    Unchanged,
    /// The text is not a valid lab; `kept` when a valid lab of that id
    /// stays.
    Invalid {
        diagnostics: Vec<Diagnostic>,
        kept: bool,
    },
    /// The server holds as many labs as it may.
    Full,
}

impl State {
    pub fn new(config: Config) -> State {
        let jobs = Arc::new(tokio::sync::Semaphore::new(config.limits.jobs_max.max(1)));
        State {
            config,
            labs: Mutex::new(BTreeMap::new()),
            jobs,
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<LabEntry>> {
        self.labs.lock().expect("labs lock").get(id).cloned()
    }

    pub fn add_initial(&self, lab: LabSource) -> Result<(), ServeError> {
        if !valid_id(&lab.id) {
            return Err(ServeError::Lab(format!(
                "{}: `{}` cannot be a lab id (1 to 64 of A-Z a-z 0-9 . _ -): rename the file",
                lab.file, lab.id
            )));
        }
        if self.get(&lab.id).is_some() {
            return Err(ServeError::Lab(format!(
                "{}: a lab with id `{}` is already loaded (ids are file names without .yaml)",
                lab.file, lab.id
            )));
        }
        match wirelab_spec::parse_str(&lab.file, &lab.text) {
            Ok(loaded) => {
                let entry = self.entry(&lab.id, SourceFormat::Yaml, lab.text, loaded);
                self.labs
                    .lock()
                    .expect("labs lock")
                    .insert(lab.id, Arc::new(entry));
                Ok(())
            }
            Err(diags) => Err(ServeError::Lab(
                diags
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        }
    }

    fn entry(&self, id: &str, format: SourceFormat, source: String, loaded: Loaded) -> LabEntry {
        let net = Network::compile(&loaded.lab);
        let topology = topology(&net);
        let actor = LabActor::start(net, self.config.speed, !self.config.paused);
        LabEntry {
            id: id.to_string(),
            format,
            source,
            diagnostics: loaded.warnings,
            valid: Some(ValidLab {
                topology,
                actor,
                last_report: Mutex::new(None),
            }),
        }
    }

    /// Creates or replaces lab `id` from `text`. Validation is CPU work:
    /// the caller runs this on a blocking thread (the actor's pacer is
    /// spawned on `runtime`).
    pub fn put(
        &self,
        runtime: &tokio::runtime::Handle,
        id: &str,
        format: SourceFormat,
        text: String,
    ) -> PutOutcome {
        let existing = self.get(id);
        if let Some(e) = &existing {
            if e.format == format && e.source == text {
                return match e.valid {
                    Some(_) => PutOutcome::Unchanged,
                    None => PutOutcome::Invalid {
                        diagnostics: e.diagnostics.clone(),
                        kept: false,
                    },
                };
            }
        }
        let file = format!("{id}.{}", format.code());
        let parsed = parse(&file, format, &text);
        let mut labs = self.labs.lock().expect("labs lock");
        let existing = labs.get(id).cloned();
        if existing.is_none() && labs.len() >= self.config.limits.labs_max {
            return PutOutcome::Full;
        }
        match parsed {
            Ok(loaded) => {
                let _guard = runtime.enter();
                let entry = self.entry(id, format, text, loaded);
                labs.insert(id.to_string(), Arc::new(entry));
                if existing.is_some() {
                    PutOutcome::Replaced
                } else {
                    PutOutcome::Created
                }
            }
            Err(diagnostics) => {
                let kept = existing.as_ref().is_some_and(|e| e.valid.is_some());
                if !kept {
                    labs.insert(
                        id.to_string(),
                        Arc::new(LabEntry {
                            id: id.to_string(),
                            format,
                            source: text,
                            diagnostics: diagnostics.clone(),
                            valid: None,
                        }),
                    );
                }
                PutOutcome::Invalid { diagnostics, kept }
            }
        }
    }

    pub fn delete(&self, id: &str) -> bool {
        self.labs.lock().expect("labs lock").remove(id).is_some()
    }
}

/// Parses lab text. JSON is checked as JSON first, then read by the YAML
/// parser (JSON is YAML 1.2), so positions are those of the body; a JSON
/// text the YAML parser does not take (tabs) is read again pretty-printed,
/// and positions then refer to that form.
fn parse(file: &str, format: SourceFormat, text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    match format {
        SourceFormat::Yaml => wirelab_spec::parse_str_without_files(file, text),
        SourceFormat::Json => {
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    return Err(vec![Diagnostic {
                        file: file.to_string(),
                        span: wirelab_spec::Span {
                            line: e.line() as u32,
                            column: e.column() as u32,
                        },
                        severity: Severity::Error,
                        message: format!("not JSON: {e}"),
                        help: None,
                    }])
                }
            };
            if !value.is_object() {
                return Err(vec![Diagnostic {
                    file: file.to_string(),
                    span: wirelab_spec::Span { line: 1, column: 1 },
                    severity: Severity::Error,
                    message: "a lab is a JSON object".to_string(),
                    help: None,
                }]);
            }
            if !text.contains('\t') {
                return wirelab_spec::parse_str_without_files(file, text);
            }
            let pretty = serde_json::to_string_pretty(&value).expect("a value serializes");
            wirelab_spec::parse_str_without_files(file, &pretty)
        }
    }
}

/// The network as a UI draws it.
pub fn topology(net: &Network) -> Topology {
    let lab = &net.lab;
    let nodes = net
        .nodes
        .iter()
        .map(|node| {
            let (role, groups, services) = match node.kind {
                NodeKind::Router(_) => ("router", Vec::new(), Vec::new()),
                NodeKind::Host(h) => {
                    let host = &lab.hosts[h];
                    (
                        "host",
                        host.security_groups
                            .iter()
                            .map(|&g| lab.security_groups[g].name.value.clone())
                            .collect(),
                        host.services
                            .iter()
                            .map(|s| format!("{}/{}", s.proto.code(), s.port))
                            .collect(),
                    )
                }
            };
            NodeView {
                name: node.name.clone(),
                role: role.to_string(),
                interfaces: node
                    .ifaces
                    .iter()
                    .enumerate()
                    .map(|(pos, &i)| {
                        let iface = &net.ifaces[i];
                        InterfaceView {
                            name: format!("eth{pos}"),
                            network: net.segments[iface.segment].name.clone(),
                            mac: iface.mac.to_string(),
                            ipv4: iface.ipv4.map(|a| a.to_string()),
                            ipv6: iface.ipv6.map(|a| a.to_string()),
                        }
                    })
                    .collect(),
                security_groups: groups,
                services,
            }
        })
        .collect();
    let networks = net
        .segments
        .iter()
        .map(|s| NetworkView {
            name: s.name.clone(),
            ipv4: s.ipv4.map(|p| p.to_string()),
            ipv6: s.ipv6.map(|p| p.to_string()),
            nacl: s.nacl.map(|n| lab.nacls[n].name.value.clone()),
            bandwidth_bps: s.link.bandwidth_bps,
            delay_ns: s.link.delay_ns,
            loss: s.link.loss,
            mtu: s.link.mtu,
        })
        .collect();
    let links = net
        .nodes
        .iter()
        .flat_map(|node| {
            node.ifaces.iter().enumerate().map(|(pos, &i)| LinkView {
                node: node.name.clone(),
                interface: format!("eth{pos}"),
                network: net.segments[net.ifaces[i].segment].name.clone(),
            })
        })
        .collect();
    Topology {
        lab: lab.lab.value.clone(),
        nodes,
        networks,
        links,
    }
}
