//! `wirelab graph`: the lab's topology as a picture. Networks (with their
//! prefixes and NACL), routers and hosts (with addresses and security
//! groups) are the nodes; every attachment of a router or host to a network
//! is an edge, named as the interface (`eth0`, `eth1`, ... in the order of
//! the router's interfaces, as `wirelab serve` and the metrics name them).
//!
//! Four renderings of one [`Topology`]: Graphviz DOT, Mermaid and D2 as text
//! for other tools to lay out, and SVG laid out here (layers by breadth-first
//! search from the routers), so no Graphviz is needed at run time. Every
//! rendering follows the lab's file order: the same lab gives the same bytes.
//! See docs/graph.md.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use wirelab_spec::{Lab, Loaded, NetworkOrigin};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (Markdown on GitHub and GitLab renders it).
    Mermaid,
    /// D2 (`d2 lab.d2 lab.svg`).
    D2,
    /// An SVG picture laid out by wirelab itself.
    Svg,
}

#[derive(Args)]
pub struct GraphArgs {
    /// The lab file.
    lab: PathBuf,
    #[arg(long, value_enum, default_value = "dot")]
    format: GraphFormat,
    /// Write the graph to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Exit status: 0 the graph was written; 2 an invalid lab or a file that
/// cannot be written.
pub fn cmd_graph(args: &GraphArgs, load: fn(&Path) -> Option<Loaded>) -> u8 {
    let Some(loaded) = load(&args.lab) else {
        return 2;
    };
    let topology = Topology::of(&loaded.lab);
    let text = match args.format {
        GraphFormat::Dot => dot(&topology),
        GraphFormat::Mermaid => mermaid(&topology),
        GraphFormat::D2 => d2(&topology),
        GraphFormat::Svg => svg(&topology),
    };
    crate::write_output(args.output.as_deref(), &text)
}

/// What a node is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Network,
    Router,
    Host,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Router => "router",
            Kind::Host => "host",
        }
    }
}

/// A node: its name and the lines under the name.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub name: String,
    pub details: Vec<String>,
}

/// An attachment: a router or host (`from`) on a network (`to`), with the
/// interface's name and addresses.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

/// The lab as a graph: networks first (declared, then links), then routers,
/// then hosts, each in file order; edges in the order of the routers'
/// interfaces, then the hosts.
#[derive(Clone, Debug)]
pub struct Topology {
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Topology {
    pub fn of(lab: &Lab) -> Topology {
        let mut nodes = Vec::new();
        for network in &lab.networks {
            let mut details = Vec::new();
            details.extend(network.ipv4.as_ref().map(|p| p.value.to_string()));
            details.extend(network.ipv6.as_ref().map(|p| p.value.to_string()));
            if let Some(nacl) = network.nacl {
                details.push(format!("NACL {}", lab.nacls[nacl].name.value));
            }
            if let NetworkOrigin::Link(_) = network.origin {
                details.push("link".to_string());
            }
            nodes.push(Node {
                kind: Kind::Network,
                name: network.name.value.clone(),
                details,
            });
        }
        let first_router = nodes.len();
        for router in &lab.routers {
            nodes.push(Node {
                kind: Kind::Router,
                name: router.name.value.clone(),
                details: Vec::new(),
            });
        }
        let first_host = nodes.len();
        for host in &lab.hosts {
            let mut details = Vec::new();
            details.extend(host.ipv4.map(|a| a.to_string()));
            details.extend(host.ipv6.map(|a| a.to_string()));
            if !host.security_groups.is_empty() {
                let groups: Vec<&str> = host
                    .security_groups
                    .iter()
                    .map(|&g| lab.security_groups[g].name.value.as_str())
                    .collect();
                details.push(format!("SG {}", groups.join(", ")));
            }
            nodes.push(Node {
                kind: Kind::Host,
                name: host.name.value.clone(),
                details,
            });
        }
        let mut edges = Vec::new();
        for (r, router) in lab.routers.iter().enumerate() {
            for (position, interface) in router.interfaces.iter().enumerate() {
                let mut label = format!("eth{position}");
                for address in interface
                    .ipv4
                    .map(|a| a.to_string())
                    .into_iter()
                    .chain(interface.ipv6.map(|a| a.to_string()))
                {
                    label.push(' ');
                    label.push_str(&address);
                }
                edges.push(Edge {
                    from: first_router + r,
                    to: interface.network,
                    label,
                });
            }
        }
        for (h, host) in lab.hosts.iter().enumerate() {
            edges.push(Edge {
                from: first_host + h,
                to: host.network,
                label: "eth0".to_string(),
            });
        }
        Topology {
            title: lab.title.clone().unwrap_or_else(|| lab.lab.value.clone()),
            nodes,
            edges,
        }
    }

    /// The name and details of a node, one line each.
    fn lines(&self, node: usize) -> Vec<&str> {
        let n = &self.nodes[node];
        std::iter::once(n.name.as_str())
            .chain(n.details.iter().map(String::as_str))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Graphviz DOT.

/// A DOT double-quoted string: `"` and `\` escaped, line breaks as `\n`
/// (centred lines).
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dot_id(node: &Node) -> String {
    dot_quote(&format!("{}:{}", node.kind.code(), node.name))
}

pub fn dot(topology: &Topology) -> String {
    let mut out = String::new();
    out.push_str(&format!("graph {} {{\n", dot_quote(&topology.title)));
    out.push_str(&format!(
        "  graph [label={}, labelloc=t, rankdir=TB, fontname=\"Helvetica\"];\n",
        dot_quote(&topology.title)
    ));
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (i, node) in topology.nodes.iter().enumerate() {
        let style = match node.kind {
            Kind::Network => "shape=box, style=\"rounded,filled\", fillcolor=\"#dbeafe\"",
            Kind::Router => "shape=box3d, style=filled, fillcolor=\"#fde68a\"",
            Kind::Host => "shape=box, style=filled, fillcolor=\"#f3f4f6\"",
        };
        out.push_str(&format!(
            "  {} [label={}, {style}];\n",
            dot_id(node),
            dot_quote(&topology.lines(i).join("\n"))
        ));
    }
    for edge in &topology.edges {
        out.push_str(&format!(
            "  {} -- {} [label={}];\n",
            dot_id(&topology.nodes[edge.from]),
            dot_id(&topology.nodes[edge.to]),
            dot_quote(&edge.label)
        ));
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------
// Mermaid.

/// Text inside a Mermaid `"..."` label: quotes and markup as entity codes,
/// line breaks as `<br/>`.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A node's identifier in Mermaid and D2: its kind and index, so that no
/// name can clash with the syntax.
fn plain_id(topology: &Topology, node: usize) -> String {
    let kind = topology.nodes[node].kind;
    let index = topology.nodes[..node]
        .iter()
        .filter(|n| n.kind == kind)
        .count();
    format!("{}{index}", kind.code())
}

pub fn mermaid(topology: &Topology) -> String {
    let mut out = String::new();
    out.push_str("---\n");
    out.push_str(&format!(
        "title: \"{}\"\n",
        topology.title.replace('\\', "\\\\").replace('"', "\\\"")
    ));
    out.push_str("---\n");
    out.push_str("flowchart TB\n");
    for (i, node) in topology.nodes.iter().enumerate() {
        let label = mermaid_text(&topology.lines(i).join("\n"));
        let (open, close) = match node.kind {
            Kind::Network => ("([", "])"),
            Kind::Router => ("{{", "}}"),
            Kind::Host => ("[", "]"),
        };
        out.push_str(&format!(
            "  {}{open}\"{label}\"{close}\n",
            plain_id(topology, i)
        ));
    }
    for edge in &topology.edges {
        out.push_str(&format!(
            "  {} ---|\"{}\"| {}\n",
            plain_id(topology, edge.from),
            mermaid_text(&edge.label),
            plain_id(topology, edge.to)
        ));
    }
    out.push_str("  classDef network fill:#dbeafe,stroke:#1d4ed8\n");
    out.push_str("  classDef router fill:#fde68a,stroke:#b45309\n");
    out.push_str("  classDef host fill:#f3f4f6,stroke:#374151\n");
    for kind in [Kind::Network, Kind::Router, Kind::Host] {
        let ids: Vec<String> = (0..topology.nodes.len())
            .filter(|&i| topology.nodes[i].kind == kind)
            .map(|i| plain_id(topology, i))
            .collect();
        if !ids.is_empty() {
            out.push_str(&format!("  class {} {}\n", ids.join(","), kind.code()));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// D2.

/// A D2 double-quoted string.
fn d2_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn d2(topology: &Topology) -> String {
    let mut out = String::new();
    out.push_str("direction: down\n");
    out.push_str(&format!(
        "title: {} {{\n  near: top-center\n  shape: text\n}}\n",
        d2_quote(&topology.title)
    ));
    for (i, node) in topology.nodes.iter().enumerate() {
        let (shape, fill) = match node.kind {
            Kind::Network => ("rectangle", "#dbeafe"),
            Kind::Router => ("hexagon", "#fde68a"),
            Kind::Host => ("rectangle", "#f3f4f6"),
        };
        out.push_str(&format!(
            "{}: {} {{\n  shape: {shape}\n  style.fill: \"{fill}\"\n}}\n",
            plain_id(topology, i),
            d2_quote(&topology.lines(i).join("\n"))
        ));
    }
    for edge in &topology.edges {
        out.push_str(&format!(
            "{} -- {}: {}\n",
            plain_id(topology, edge.from),
            plain_id(topology, edge.to),
            d2_quote(&edge.label)
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// SVG, laid out here.

/// Width of one character of the monospace font at `FONT_PX`, rounded up.
const CHAR_PX: u32 = 8;
const FONT_PX: u32 = 13;
const LINE_PX: u32 = 17;
const PAD_PX: u32 = 10;
const GAP_X_PX: u32 = 28;
const GAP_Y_PX: u32 = 64;
const MARGIN_PX: u32 = 24;
const TITLE_PX: u32 = 28;
/// A network is drawn at least this wide: a bar that hosts hang from.
const NETWORK_WIDTH_MIN_PX: u32 = 180;

/// Hosts of one network stand side by side up to this many; more wrap into
/// a grid under their network, so a big subnet draws tall, not wide.
const HOST_COLUMNS_MAX: usize = 6;
/// Between the lines of such a grid: room for an interface label.
const GRID_GAP_Y_PX: u32 = 20;

/// A part of a row: one node, or the hosts of one network as a grid of
/// `columns` cells of the largest host's size.
struct Block {
    nodes: Vec<usize>,
    columns: usize,
    cell: (u32, u32),
}

impl Block {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns as u32;
        let lines = self.nodes.len().div_ceil(self.columns) as u32;
        (
            columns * self.cell.0 + (columns - 1) * GAP_X_PX,
            lines * self.cell.1 + (lines - 1) * GRID_GAP_Y_PX,
        )
    }
}

/// The blocks of an ordered row: consecutive hosts of the same network
/// make one grid; every other node is a block of its own.
fn blocks(
    row: &[usize],
    topology: &Topology,
    neighbours: &[Vec<usize>],
    size: &[(u32, u32)],
) -> Vec<Block> {
    let host_of = |i: usize| -> Option<usize> {
        (topology.nodes[i].kind == Kind::Host)
            .then(|| neighbours[i].first().copied())
            .flatten()
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in row {
        match groups.last_mut() {
            Some(group) if host_of(i).is_some() && host_of(group[0]) == host_of(i) => group.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .map(|nodes| {
            let cell = nodes
                .iter()
                .fold((0, 0), |(w, h), &i| (w.max(size[i].0), h.max(size[i].1)));
            Block {
                columns: nodes.len().min(HOST_COLUMNS_MAX),
                nodes,
                cell,
            }
        })
        .collect()
}

/// The left edges of a row's blocks: each over (or under) the middle of
/// its nodes' neighbours in the layer `relatives`, else where it is
/// (`current`), as far as the blocks before it allow. Records the centre of
/// every node placed.
fn place_row(
    row: &[Block],
    current: &[i64],
    relatives: Option<usize>,
    neighbours: &[Vec<usize>],
    layer: &[usize],
    centre: &mut [i64],
) -> Vec<i64> {
    let mut lefts = Vec::with_capacity(row.len());
    let mut right_prev: Option<i64> = None;
    for (block, &here) in row.iter().zip(current) {
        let (w, _) = block.size();
        let related = block
            .nodes
            .iter()
            .flat_map(|&i| neighbours[i].iter())
            .filter(|&&c| Some(layer[c]) == relatives)
            .map(|&c| centre[c]);
        let span = related.fold(None, |span: Option<(i64, i64)>, c| {
            Some(span.map_or((c, c), |(lo, hi)| (lo.min(c), hi.max(c))))
        });
        let wanted = span.map_or(here, |(lo, hi)| (lo + hi) / 2 - i64::from(w) / 2);
        let left = match right_prev {
            Some(right) => wanted.max(right + i64::from(GAP_X_PX)),
            None => wanted,
        };
        for (k, &i) in block.nodes.iter().enumerate() {
            let column = (k % block.columns) as i64;
            centre[i] =
                left + column * i64::from(block.cell.0 + GAP_X_PX) + i64::from(block.cell.0) / 2;
        }
        lefts.push(left);
        right_prev = Some(left + i64::from(w));
    }
    lefts
}

/// Where each node goes.
struct Layout {
    /// Top-left corner, width and height of each node.
    boxes: Vec<(u32, u32, u32, u32)>,
    /// For each host, how its edge hangs from its network: the height of
    /// the rail above its row, and, in a grid's later lines, the trunk
    /// down the grid's left side and the rail above the host's line.
    hangs: Vec<Option<Hang>>,
    width: u32,
    height: u32,
}

#[derive(Clone, Copy)]
struct Hang {
    rail_y: u32,
    trunk: Option<(u32, u32)>,
}

/// The layer of each node: breadth-first from the first router (file
/// order), over router–network and host–network attachments, then from
/// the next router not reached, then from the networks not reached; a node
/// is one layer below the node it was reached from. The component each
/// node belongs to comes second.
fn layers(topology: &Topology) -> (Vec<usize>, Vec<usize>) {
    let n = topology.nodes.len();
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &topology.edges {
        neighbours[edge.from].push(edge.to);
        neighbours[edge.to].push(edge.from);
    }
    let mut layer = vec![usize::MAX; n];
    let mut component = vec![0; n];
    let kind_order = [Kind::Router, Kind::Network, Kind::Host];
    let mut components = 0;
    for kind in kind_order {
        for start in 0..n {
            if topology.nodes[start].kind != kind || layer[start] != usize::MAX {
                continue;
            }
            // Hosts hang below their network: a network reached first from
            // one of its hosts still starts its own layer at the top.
            layer[start] = 0;
            component[start] = components;
            let mut queue = VecDeque::from([start]);
            while let Some(node) = queue.pop_front() {
                for &next in &neighbours[node] {
                    if layer[next] == usize::MAX {
                        layer[next] = layer[node] + 1;
                        component[next] = components;
                        queue.push_back(next);
                    }
                }
            }
            components += 1;
        }
    }
    (layer, component)
}

fn layout(topology: &Topology) -> Layout {
    let (layer, component) = layers(topology);
    let n = topology.nodes.len();
    let depth = layer.iter().map(|&l| l + 1).max().unwrap_or(0);
    let size: Vec<(u32, u32)> = (0..n)
        .map(|i| {
            let lines = topology.lines(i);
            let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
            let mut width = longest * CHAR_PX + 2 * PAD_PX;
            if topology.nodes[i].kind == Kind::Network {
                width = width.max(NETWORK_WIDTH_MIN_PX);
            }
            (width, lines.len() as u32 * LINE_PX + PAD_PX)
        })
        .collect();
    // Order within a layer: by component, then by the mean position of the
    // neighbours one layer up (so children sit under their parents), then
    // by file order.
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &topology.edges {
        neighbours[edge.from].push(edge.to);
        neighbours[edge.to].push(edge.from);
    }
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    let mut position = vec![0usize; n];
    for (l, row) in rows.iter_mut().enumerate() {
        let mut members: Vec<(usize, u64, usize)> = (0..n)
            .filter(|&i| layer[i] == l)
            .map(|i| {
                let parents: Vec<usize> = neighbours[i]
                    .iter()
                    .copied()
                    .filter(|&p| layer[p] + 1 == l)
                    .collect();
                // Positions are scaled by 1000 to keep the mean an integer.
                let mean = if parents.is_empty() {
                    0
                } else {
                    parents
                        .iter()
                        .map(|&p| position[p] as u64 * 1000)
                        .sum::<u64>()
                        / parents.len() as u64
                };
                (component[i], mean, i)
            })
            .collect();
        members.sort_unstable();
        *row = members.into_iter().map(|(_, _, i)| i).collect();
        for (p, &i) in row.iter().enumerate() {
            position[i] = p;
        }
    }
    let row_blocks: Vec<Vec<Block>> = rows
        .iter()
        .map(|row| blocks(row, topology, &neighbours, &size))
        .collect();
    // Horizontal places in three sweeps: bottom-up (each block over the
    // middle of its children; the last row packed from the left), top-down
    // (each block under the middle of its parents, so children spread under
    // wide parents), bottom-up again (so a parent ends centred over the
    // children it shares). A block without neighbours in the layer looked
    // at keeps its place; one that would overlap the block before it goes
    // just right of it.
    let rows_count = row_blocks.len();
    let mut lefts: Vec<Vec<i64>> = row_blocks.iter().map(|r| vec![0; r.len()]).collect();
    let mut centre: Vec<i64> = vec![0; n];
    let below = |r: usize| (r + 1 < rows_count).then_some(r + 1);
    for r in (0..rows_count).rev() {
        lefts[r] = place_row(
            &row_blocks[r],
            &lefts[r],
            below(r),
            &neighbours,
            &layer,
            &mut centre,
        );
    }
    for r in 1..rows_count {
        lefts[r] = place_row(
            &row_blocks[r],
            &lefts[r],
            Some(r - 1),
            &neighbours,
            &layer,
            &mut centre,
        );
    }
    for r in (0..rows_count).rev() {
        lefts[r] = place_row(
            &row_blocks[r],
            &lefts[r],
            below(r),
            &neighbours,
            &layer,
            &mut centre,
        );
    }
    let leftmost = lefts.iter().flatten().copied().min().unwrap_or(0);
    let rightmost = row_blocks
        .iter()
        .zip(&lefts)
        .flat_map(|(row, ls)| row.iter().zip(ls).map(|(b, l)| l + i64::from(b.size().0)))
        .max()
        .unwrap_or(0);
    let content = (rightmost - leftmost) as u32;
    // Wide enough for the content and for the title (bold: a little wider
    // than the body text); the content is centred.
    let title_px = topology.title.chars().count() as u32 * (CHAR_PX + 1);
    let width = content.max(title_px) + 2 * MARGIN_PX;
    let shift = i64::from(MARGIN_PX + (width - 2 * MARGIN_PX - content) / 2) - leftmost;
    let mut boxes = vec![(0, 0, 0, 0); n];
    let mut hangs = vec![None; n];
    let mut y = MARGIN_PX + TITLE_PX;
    for (row, ls) in row_blocks.iter().zip(&lefts) {
        let height = row.iter().map(|b| b.size().1).max().unwrap_or(0);
        let rail_y = y.saturating_sub(GAP_Y_PX / 2);
        for (block, &left) in row.iter().zip(ls) {
            let x = (left + shift) as u32;
            let (cell_w, cell_h) = block.cell;
            for (k, &i) in block.nodes.iter().enumerate() {
                let (column, line) = ((k % block.columns) as u32, (k / block.columns) as u32);
                let (w, h) = size[i];
                let top = y + line * (cell_h + GRID_GAP_Y_PX);
                boxes[i] = (
                    x + column * (cell_w + GAP_X_PX) + (cell_w - w) / 2,
                    top,
                    w,
                    h,
                );
                if topology.nodes[i].kind == Kind::Host {
                    let trunk = (line > 0).then(|| (x - GAP_X_PX / 2, top - GRID_GAP_Y_PX / 2));
                    hangs[i] = Some(Hang { rail_y, trunk });
                }
            }
        }
        y += height + GAP_Y_PX;
    }
    let height = if rows.is_empty() {
        MARGIN_PX * 2 + TITLE_PX
    } else {
        y - GAP_Y_PX + MARGIN_PX
    };
    Layout {
        boxes,
        hangs,
        width,
        height,
    }
}

/// The points of an edge's line. A router's is straight, from the bottom
/// of the upper box to the top of the lower one. A host hangs from its
/// network: down to the rail above the host's row, along it, (in a grid's
/// later lines, down the grid's trunk and along the rail above the host's
/// line,) and down into the host.
fn edge_path(layout: &Layout, edge: &Edge) -> Vec<(u32, u32)> {
    let (a, b) = (layout.boxes[edge.from], layout.boxes[edge.to]);
    let (upper, lower) = if a.1 <= b.1 { (a, b) } else { (b, a) };
    let start = (upper.0 + upper.2 / 2, upper.1 + upper.3);
    let end = (lower.0 + lower.2 / 2, lower.1);
    let Some(hang) = layout.hangs[edge.from].filter(|_| lower == a) else {
        return vec![start, end];
    };
    let mut points = vec![start, (start.0, hang.rail_y)];
    if let Some((trunk_x, line_y)) = hang.trunk {
        points.push((trunk_x, hang.rail_y));
        points.push((trunk_x, line_y));
        points.push((end.0, line_y));
    } else {
        points.push((end.0, hang.rail_y));
    }
    points.push(end);
    points
}

/// Text for an SVG (XML) text node or attribute.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn svg(topology: &Topology) -> String {
    let layout = layout(topology);
    let mut out = String::new();
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"ui-monospace, SFMono-Regular, Menlo, Consolas, monospace\" font-size=\"{FONT_PX}\">\n",
        w = layout.width,
        h = layout.height
    ));
    out.push_str(&format!("<title>{}</title>\n", xml_escape(&topology.title)));
    out.push_str(&format!(
        "<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
        layout.width, layout.height
    ));
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
        layout.width / 2,
        MARGIN_PX + FONT_PX,
        xml_escape(&topology.title)
    ));
    out.push_str("<g class=\"edges\" fill=\"none\" stroke=\"#6b7280\" stroke-width=\"1.5\">\n");
    for edge in &topology.edges {
        let points: Vec<String> = edge_path(&layout, edge)
            .iter()
            .map(|(x, y)| format!("{x},{y}"))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\"><title>{} — {}: {}</title></polyline>\n",
            points.join(" "),
            xml_escape(&topology.nodes[edge.from].name),
            xml_escape(&topology.nodes[edge.to].name),
            xml_escape(&edge.label)
        ));
    }
    out.push_str("</g>\n");
    out.push_str(
        "<g class=\"edge-labels\" font-size=\"10\" fill=\"#374151\" text-anchor=\"middle\">\n",
    );
    for edge in &topology.edges {
        let path = edge_path(&layout, edge);
        // A host's label sits just above it, on the end of its line; a
        // router's at the middle of its line.
        let (x, y) = match layout.hangs[edge.from] {
            Some(_) => {
                let (x, y) = path[path.len() - 1];
                (x, y - 5)
            }
            None => {
                let ((x1, y1), (x2, y2)) = (path[0], path[path.len() - 1]);
                ((x1 + x2) / 2, (y1 + y2) / 2 + 4)
            }
        };
        out.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
            xml_escape(&edge.label)
        ));
    }
    out.push_str("</g>\n");
    for (i, node) in topology.nodes.iter().enumerate() {
        let (x, y, w, h) = layout.boxes[i];
        let (fill, stroke, rx) = match node.kind {
            Kind::Network => ("#dbeafe", "#1d4ed8", 8),
            Kind::Router => ("#fde68a", "#b45309", 2),
            Kind::Host => ("#f3f4f6", "#374151", 2),
        };
        out.push_str(&format!(
            "<g class=\"{}\" data-name=\"{}\">\n<title>{} {}</title>\n",
            node.kind.code(),
            xml_escape(&node.name),
            node.kind.code(),
            xml_escape(&node.name)
        ));
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>\n"
        ));
        for (line, text) in topology.lines(i).iter().enumerate() {
            let weight = if line == 0 {
                " font-weight=\"bold\""
            } else {
                ""
            };
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{weight}>{}</text>\n",
                x + w / 2,
                y + PAD_PX / 2 + (line as u32 + 1) * LINE_PX - 4,
                xml_escape(text)
            ));
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_every_special_character() {
        assert_eq!(dot_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(dot_quote("a\nb"), r#""a\nb""#);
        assert_eq!(mermaid_text("a\"<b>#|"), "a#quot;#lt;b#gt;#35;#124;");
        assert_eq!(xml_escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
        assert_eq!(xml_escape("a\u{1}b"), "a\u{FFFD}b");
        assert_eq!(d2_quote("x\"y\\"), r#""x\"y\\""#);
    }
}
