//! Text shaped like the output of BIND 9.18's `dig`: the full form, `+short`
//! and `+trace`.
//!
//! The layout was checked line by line against `dig` 9.18 (Debian's
//! bind9-dnsutils): records are laid out in columns at 24 (TTL), 32
//! (class), 40 (type) and 48 (data) reached with 8-wide tabs, or a single
//! space when a field already runs past its column, as BIND's master-file
//! printer does. Differences, on purpose:
//!
//! - the banner says `wirelab dig` instead of `DiG 9.18.x`;
//! - there is no wall clock: `;; WHEN:` shows the simulated time since the
//!   lab started (`;; WHEN: sim+1.234567s`), and `;; Query time:` is
//!   simulated too;
//! - no COOKIE line (queries carry no cookie).

use std::fmt::Write as _;
use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::resolver::{WalkOutcome, WalkStep};
use crate::transport::Transport;

const TAB_WIDTH: usize = 8;
const TTL_COLUMN: usize = 24;
const CLASS_COLUMN: usize = 32;
const TYPE_COLUMN: usize = 40;
const RDATA_COLUMN: usize = 48;

/// What dig was asked and how the answer came, for the banner and footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigQuery {
    /// The name asked.
    pub name: Name,
    /// The type asked.
    pub qtype: RecordType,
    /// The server that answered.
    pub server: IpAddr,
    /// How the answer came.
    pub transport: Transport,
    /// From query to answer.
    pub query_time_ns: u64,
    /// When the answer came, on the simulated clock.
    pub when_ns: u64,
    /// The response's size on the wire.
    pub size_bytes: usize,
}

/// dig's status mnemonic for an rcode.
pub fn rcode_mnemonic(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        ResponseCode::BADVERS => "BADVERS".into(),
        other => format!("RESERVED{}", u16::from(other)),
    }
}

/// Pads `line`, whose printed width is `*column`, to `to`: tabs to the
/// column, or one space if the text already reaches it.
fn indent(line: &mut String, column: &mut usize, to: usize) {
    if *column >= to {
        line.push(' ');
        *column += 1;
        return;
    }
    let tabs = to / TAB_WIDTH - *column / TAB_WIDTH;
    line.extend(std::iter::repeat_n('\t', tabs));
    *column = to;
}

fn push_field(line: &mut String, column: &mut usize, text: &str) {
    line.push_str(text);
    *column += text.chars().count();
}

/// RDATA in presentation format as dig prints it. TXT strings are quoted,
/// with `"` and `\` escaped and bytes outside printable ASCII as `\DDD`
/// (RFC 1035 §5.1); other types use hickory's presentation format.
pub fn rdata_text(data: &RData) -> String {
    match data {
        RData::TXT(txt) => {
            let strings: Vec<String> = txt.txt_data.iter().map(|s| quoted(s)).collect();
            strings.join(" ")
        }
        other => other.to_string(),
    }
}

fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// A server's name as dig shows it in parentheses: no trailing dot.
fn bare(name: &Name) -> String {
    let text = name.to_string();
    match text.strip_suffix('.') {
        Some(bare) if !bare.is_empty() => bare.to_string(),
        _ => text,
    }
}

/// One record in dig's columns: `name TTL class type data`.
pub fn record_line(record: &Record) -> String {
    let mut line = String::new();
    let mut column = 0;
    push_field(&mut line, &mut column, &record.name.to_string());
    indent(&mut line, &mut column, TTL_COLUMN);
    push_field(&mut line, &mut column, &record.ttl.to_string());
    indent(&mut line, &mut column, CLASS_COLUMN);
    push_field(&mut line, &mut column, &record.dns_class.to_string());
    indent(&mut line, &mut column, TYPE_COLUMN);
    push_field(&mut line, &mut column, &record.record_type().to_string());
    indent(&mut line, &mut column, RDATA_COLUMN);
    line.push_str(&rdata_text(&record.data));
    line
}

/// The question line: `;name` then class and type (no TTL; the `;` does
/// not count towards the columns).
fn question_line(name: &Name, qtype: RecordType) -> String {
    let mut line = String::from(";");
    let mut column = 0;
    push_field(&mut line, &mut column, &name.to_string());
    indent(&mut line, &mut column, CLASS_COLUMN);
    push_field(&mut line, &mut column, "IN");
    indent(&mut line, &mut column, TYPE_COLUMN);
    line.push_str(&qtype.to_string());
    line
}

fn flags(message: &Message) -> String {
    let m = &message.metadata;
    let named = [
        (
            m.message_type == hickory_proto::op::MessageType::Response,
            "qr",
        ),
        (m.authoritative, "aa"),
        (m.truncation, "tc"),
        (m.recursion_desired, "rd"),
        (m.recursion_available, "ra"),
        (m.authentic_data, "ad"),
        (m.checking_disabled, "cd"),
    ];
    let set: Vec<&str> = named
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| *f)
        .collect();
    set.join(" ")
}

fn section(out: &mut String, title: &str, records: &[Record]) {
    if records.is_empty() {
        return;
    }
    let _ = writeln!(out, ";; {title} SECTION:");
    for record in records {
        let _ = writeln!(out, "{}", record_line(record));
    }
    out.push('\n');
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

/// The full dig output for `response` to `query`.
pub fn render(query: &DigQuery, response: &Message) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "; <<>> wirelab dig <<>> {} {}",
        query.name, query.qtype
    );
    let _ = writeln!(out, ";; global options: +cmd");
    let _ = writeln!(out, ";; Got answer:");
    let _ = writeln!(
        out,
        ";; ->>HEADER<<- opcode: QUERY, status: {}, id: {}",
        rcode_mnemonic(response.metadata.response_code),
        response.metadata.id
    );
    let additional_count = response.additionals.len() + usize::from(response.edns.is_some());
    let _ = writeln!(
        out,
        ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        flags(response),
        response.queries.len(),
        response.answers.len(),
        response.authorities.len(),
        additional_count
    );
    out.push('\n');
    if let Some(edns) = &response.edns {
        let _ = writeln!(out, ";; OPT PSEUDOSECTION:");
        let do_flag = if edns.flags().dnssec_ok { " do" } else { "" };
        let _ = writeln!(
            out,
            "; EDNS: version: {}, flags:{do_flag}; udp: {}",
            edns.version(),
            edns.max_payload()
        );
    }
    if !response.queries.is_empty() {
        let _ = writeln!(out, ";; QUESTION SECTION:");
        for q in &response.queries {
            let _ = writeln!(out, "{}", question_line(q.name(), q.query_type()));
        }
        out.push('\n');
    }
    section(&mut out, "ANSWER", &response.answers);
    section(&mut out, "AUTHORITY", &response.authorities);
    section(&mut out, "ADDITIONAL", &response.additionals);
    let _ = writeln!(out, ";; Query time: {} msec", ms(query.query_time_ns));
    let _ = writeln!(
        out,
        ";; SERVER: {0}#53({0}) ({1})",
        query.server, query.transport
    );
    let _ = writeln!(
        out,
        ";; WHEN: sim+{}.{:06}s",
        query.when_ns / 1_000_000_000,
        (query.when_ns % 1_000_000_000) / 1_000
    );
    let _ = writeln!(out, ";; MSG SIZE  rcvd: {}", query.size_bytes);
    out.push('\n');
    out
}

/// `dig +short`: the data of each answer record, one per line.
pub fn render_short(response: &Message) -> String {
    let mut out = String::new();
    for record in &response.answers {
        let _ = writeln!(out, "{}", rdata_text(&record.data));
    }
    out
}

/// The timeout line dig prints when no server answers.
pub fn render_timeout(name: &Name, qtype: RecordType) -> String {
    format!(
        "\n; <<>> wirelab dig <<>> {name} {qtype}\n;; global options: +cmd\n;; connection timed out; no servers could be reached\n"
    )
}

/// `dig +trace` from a resolver's walk: for each upstream query, the
/// records of the answer and authority sections received (glue is left out,
/// as dig's `+trace` does), then where they came from and how long it took;
/// a query that got no answer shows dig's communications-error line.
pub fn render_trace(name: &Name, qtype: RecordType, walk: &[WalkStep]) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "; <<>> wirelab dig <<>> +trace {name} {qtype}");
    let _ = writeln!(out, ";; global options: +cmd");
    for step in walk {
        let server_name = step
            .ns_name
            .as_ref()
            .map_or_else(|| step.server.to_string(), bare);
        match &step.outcome {
            WalkOutcome::Response {
                message,
                size_bytes,
                received_at_ns,
            } => {
                for record in message.answers.iter().chain(&message.authorities) {
                    let _ = writeln!(out, "{}", record_line(record));
                }
                let _ = writeln!(
                    out,
                    ";; Received {size_bytes} bytes from {}#53({server_name}) in {} ms",
                    step.server,
                    ms(received_at_ns - step.sent_at_ns)
                );
                out.push('\n');
            }
            WalkOutcome::Timeout { .. } => {
                let _ = writeln!(
                    out,
                    ";; communications error to {}#53({server_name}): timed out",
                    step.server
                );
            }
            WalkOutcome::Pending => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::fake::{a, cname, ip, name, soa, Net};
    use crate::resolver::Resolver;
    use hickory_proto::op::{Edns, OpCode};
    use hickory_proto::rr::rdata::TXT;

    fn response(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Message {
        let mut m = Message::response(53015, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.metadata.recursion_available = true;
        m.metadata.response_code = rcode;
        m.insert_answers(answers);
        m.insert_authorities(authorities);
        let mut opt = Edns::new();
        opt.set_max_payload(1232);
        m.set_edns(opt);
        m
    }

    fn query(qname: &str, qtype: RecordType, size_bytes: usize) -> DigQuery {
        DigQuery {
            name: name(qname),
            qtype,
            server: ip("127.0.0.1"),
            transport: Transport::Udp,
            query_time_ns: 4_200_000,
            when_ns: 12_500_000_000,
            size_bytes,
        }
    }

    /// The same response as a Python fake served to real dig 9.18, whose
    /// output (banner, WHEN and port aside) this reproduces byte for byte.
    #[test]
    fn full_output_matches_dig_9_18() {
        let txt = Record::from_rdata(
            name("www.example.net."),
            120,
            RData::TXT(TXT::new(vec!["hello".into(), "world".into()])),
        );
        let mut m = response(
            ResponseCode::NoError,
            vec![
                cname("alias.example.com.", 600, "www.example.net."),
                a("www.example.net.", 120, "10.2.0.1"),
                txt,
            ],
            vec![],
        );
        m.add_query(hickory_proto::op::Query::query(
            name("alias.example.com."),
            RecordType::A,
        ));
        let expected = "
; <<>> wirelab dig <<>> alias.example.com. A
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 53015
;; flags: qr rd ra; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;alias.example.com.\t\tIN\tA

;; ANSWER SECTION:
alias.example.com.\t600\tIN\tCNAME\twww.example.net.
www.example.net.\t120\tIN\tA\t10.2.0.1
www.example.net.\t120\tIN\tTXT\t\"hello\" \"world\"

;; Query time: 4 msec
;; SERVER: 127.0.0.1#53(127.0.0.1) (UDP)
;; WHEN: sim+12.500000s
;; MSG SIZE  rcvd: 162

";
        assert_eq!(
            render(&query("alias.example.com.", RecordType::A, 162), &m),
            expected
        );
        assert_eq!(
            render_short(&m),
            "www.example.net.\n10.2.0.1\n\"hello\" \"world\"\n"
        );
    }

    #[test]
    fn nxdomain_with_soa_matches_dig_9_18() {
        let mut m = response(
            ResponseCode::NXDomain,
            vec![],
            vec![soa("example.com.", 60, 60)],
        );
        m.add_query(hickory_proto::op::Query::query(
            name("nx.example.com."),
            RecordType::AAAA,
        ));
        let text = render(&query("nx.example.com.", RecordType::AAAA, 127), &m);
        assert!(text.contains(";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 53015\n"));
        assert!(
            text.contains(";; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1\n")
        );
        assert!(text.contains(
            ";; QUESTION SECTION:\n;nx.example.com.\t\t\tIN\tAAAA\n\n;; AUTHORITY SECTION:\n"
        ));
        assert!(text.contains(
            "example.com.\t\t60\tIN\tSOA\tns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 60\n"
        ));
        assert!(!text.contains("ANSWER SECTION"));
    }

    #[test]
    fn txt_escapes() {
        let txt = RData::TXT(TXT::from_bytes(vec![b"a \"q\" \\", b"\x01\xff"]));
        assert_eq!(rdata_text(&txt), r#""a \"q\" \\" "\001\255""#);
    }

    #[test]
    fn long_names_push_columns_with_one_space() {
        // dig 9.18: "averyveryverylongname.example.com. 600 IN CNAME\twww.example.net."
        let r = cname(
            "averyveryverylongname.example.com.",
            600,
            "www.example.net.",
        );
        assert_eq!(
            record_line(&r),
            "averyveryverylongname.example.com. 600 IN CNAME\twww.example.net."
        );
        let r = cname("abcdefghijklmnopqrstuvw.", 600, "www.example.net.");
        assert_eq!(
            record_line(&r),
            "abcdefghijklmnopqrstuvw. 600\tIN\tCNAME\twww.example.net."
        );
        assert_eq!(
            question_line(&name("averyveryverylongname.example.com."), RecordType::A),
            ";averyveryverylongname.example.com. IN\tA"
        );
        assert_eq!(
            question_line(&name("abcdefghijklmnopqrstuvw."), RecordType::A),
            ";abcdefghijklmnopqrstuvw.\tIN\tA"
        );
    }

    #[test]
    fn trace_of_a_resolution() {
        let mut net = Net::lab();
        net.drop_to = [ip("10.0.0.1"), ip("10.0.0.2")].into();
        net.drop_budget = 1;
        let mut r = Resolver::new(Net::config(), 7);
        let (_, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
        let text = render_trace(&name("www.example.com."), RecordType::A, &walk);
        let timed_out = walk[2].server;
        let answered = walk[3].server;
        let ns_of = |addr: IpAddr| if addr == ip("10.0.0.1") { "ns1" } else { "ns2" };
        let expected = format!(
            "
; <<>> wirelab dig <<>> +trace www.example.com. A
;; global options: +cmd
com.\t\t\t172800\tIN\tNS\ta.gtld-servers.net.
;; Received 92 bytes from 198.41.0.4#53(198.41.0.4) in 10 ms

example.com.\t\t172800\tIN\tNS\tns1.example.com.
example.com.\t\t172800\tIN\tNS\tns2.example.com.
;; Received 112 bytes from 192.5.6.30#53(a.gtld-servers.net) in 10 ms

;; communications error to {timed_out}#53({}.example.com): timed out
www.example.com.\t300\tIN\tA\t10.1.0.1
;; Received 60 bytes from {answered}#53({}.example.com) in 10 ms

",
            ns_of(timed_out),
            ns_of(answered)
        );
        assert_eq!(text, expected);
    }
}
