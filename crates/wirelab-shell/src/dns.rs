//! `dig` and `nslookup`: the host's stub asks its resolver in the
//! session's simulation, so the resolver's cache is warm for the next
//! command (the second `dig` answers from it, sooner and with lower
//! TTLs). `dig` prints as `wirelab dig` does; `nslookup` as BIND 9's.

use wirelab_dns::dig::{rcode_mnemonic, rdata_text};
use wirelab_dns::proto::op::ResponseCode;
use wirelab_dns::proto::rr::{Name, RData, Record, RecordType};
use wirelab_dns::stub::StubOutcome;

use super::{Done, Shell};

const DIG_USAGE: &str = "Usage:  dig NAME [TYPE] [+short] [+trace]\n";
const NSLOOKUP_USAGE: &str = "Usage: nslookup [-type=TYPE] NAME\n";
/// dig's exit status when no server answered.
const DIG_NO_REPLY: u8 = 9;

/// Looks `name` up from the shell's host now and runs until it ends;
/// returns its index in the simulation's lookups.
pub(super) fn lookup(sh: &mut Shell<'_>, name: &Name, qtype: RecordType) -> usize {
    let id = sh.sim.start_lookup(sh.host, name.clone(), qtype);
    let until = sh.sim.now() + wirelab_check::dns::LOOKUP_TIME_MAX;
    sh.sim
        .run_while(until, |s| s.lookups()[id].outcome.is_some());
    id
}

/// The host's resolver, or the words for a host without one.
fn resolver_or_why(sh: &Shell<'_>, tool: &str) -> Result<(), Done> {
    crate::stub_host(&sh.net.lab, sh.host_name())
        .map(|_| ())
        .map_err(|why| Done::with(format!("{tool}: {why}\n"), 1))
}

pub fn dig(sh: &mut Shell<'_>, args: &[String]) -> Done {
    if args.is_empty() {
        return Done::with(DIG_USAGE.into(), 1);
    }
    let question = match crate::dig::parse_question(args) {
        Ok(q) => q,
        Err(e) => return Done::with(format!("dig: {e}\n{DIG_USAGE}"), 1),
    };
    if let Err(done) = resolver_or_why(sh, "dig") {
        return done;
    }
    let (text, no_reply) = crate::dig::ask(sh.net, &mut sh.sim, sh.host, &question);
    Done::with(text, if no_reply.is_some() { DIG_NO_REPLY } else { 0 })
}

/// The name as nslookup prints it: without the root's dot.
fn bare(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_string()
}

/// One record of a type other than A and AAAA, in nslookup's words.
fn record_words(r: &Record) -> String {
    let owner = bare(&r.name);
    let data = rdata_text(&r.data);
    let what = match r.data {
        RData::CNAME(_) => "canonical name",
        RData::MX(_) => "mail exchanger",
        RData::NS(_) => "nameserver",
        RData::TXT(_) => "text",
        RData::PTR(_) => "name",
        RData::SRV(_) => "service",
        RData::SOA(_) => {
            let f: Vec<&str> = data.split_whitespace().collect();
            let labels = [
                "origin",
                "mail addr",
                "serial",
                "refresh",
                "retry",
                "expire",
                "minimum",
            ];
            let mut out = format!("{owner}\n");
            for (label, value) in labels.iter().zip(f) {
                out.push_str(&format!("\t{label} = {value}\n"));
            }
            return out;
        }
        _ => return format!("{owner}\trdata_{} = {data}\n", u16::from(r.record_type())),
    };
    format!("{owner}\t{what} = {data}\n")
}

/// The answer lines of one lookup: `Name:`/`Address:` pairs for
/// addresses, a line per other record.
fn answer_lines(message: &wirelab_dns::proto::op::Message, cnames: bool) -> String {
    let mut out = String::new();
    for r in &message.answers {
        match &r.data {
            RData::A(a) => out.push_str(&format!("Name:\t{}\nAddress: {}\n", bare(&r.name), a.0)),
            RData::AAAA(a) => {
                out.push_str(&format!("Name:\t{}\nAddress: {}\n", bare(&r.name), a.0))
            }
            RData::CNAME(_) if !cnames => {}
            _ => out.push_str(&record_words(r)),
        }
    }
    out
}

pub fn nslookup(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let mut qtype = None;
    let mut name = None;
    for w in args {
        if let Some(t) = w
            .strip_prefix("-type=")
            .or_else(|| w.strip_prefix("-query="))
        {
            match t.to_ascii_uppercase().parse::<RecordType>() {
                Ok(t) => qtype = Some(t),
                Err(_) => return Done::with(format!("unknown query type: {t}\n"), 1),
            }
        } else if w.starts_with('-') || name.is_some() {
            return Done::with(NSLOOKUP_USAGE.into(), 1);
        } else {
            name = Some(w.clone());
        }
    }
    let Some(text) = name else {
        return Done::with(NSLOOKUP_USAGE.into(), 1);
    };
    let Ok(mut qname) = Name::from_ascii(&text) else {
        return Done::with(format!("** server can't find {text}: bad name\n\n"), 1);
    };
    qname.set_fqdn(true);
    if let Err(done) = resolver_or_why(sh, "nslookup") {
        return done;
    }
    // Without -type, nslookup asks for A and then AAAA.
    let types = match qtype {
        Some(t) => vec![t],
        None => vec![RecordType::A, RecordType::AAAA],
    };
    let server = sh.net.lab.hosts[sh.host].resolvers[0];
    let mut out = format!("Server:\t\t{server}\nAddress:\t{server}#53\n\n");
    let mut body = String::new();
    let mut authoritative = false;
    for (k, t) in types.iter().enumerate() {
        let id = lookup(sh, &qname, *t);
        let Some(StubOutcome::Answer(a)) = &sh.sim.lookups()[id].outcome else {
            out.push_str(";; connection timed out; no servers could be reached\n\n");
            return Done::with(out, 1);
        };
        let m = &a.message;
        let rcode = m.metadata.response_code;
        if rcode != ResponseCode::NoError {
            out.push_str(&format!(
                "** server can't find {}: {}\n\n",
                bare(&qname),
                rcode_mnemonic(rcode)
            ));
            return Done::with(out, 1);
        }
        authoritative = m.metadata.authoritative;
        body.push_str(&answer_lines(m, k == 0));
    }
    if !authoritative {
        out.push_str("Non-authoritative answer:\n");
    }
    if body.is_empty() {
        body = format!("*** Can't find {}: No answer\n", bare(&qname));
    }
    out.push_str(&body);
    out.push('\n');
    Done::ok(out)
}
