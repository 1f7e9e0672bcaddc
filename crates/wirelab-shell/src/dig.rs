//! dig's words and one lookup, shared by `wirelab dig` and the shell's
//! `dig`: the host's stub resolver asks its resolver, now, in the given
//! simulation, and the answer is printed as BIND's `dig` would print it
//! (`wirelab_dns::dig`), on the simulated clock.

use wirelab_dns::dig::{render, render_short, render_timeout, render_trace, DigQuery};
use wirelab_dns::proto::rr::{Name, RecordType};
use wirelab_dns::stub::StubOutcome;
use wirelab_net::Network;
use wirelab_sim::Sim;

/// What dig was asked, from its words.
#[derive(Debug, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: RecordType,
    pub trace: bool,
    pub short: bool,
}

/// Types that people ask for, for "did you mean".
const TYPES_COMMON: [&str; 12] = [
    "A", "AAAA", "CNAME", "MX", "NS", "SOA", "TXT", "PTR", "SRV", "CAA", "HTTPS", "ANY",
];

/// Reads dig's words: `NAME [TYPE] [+option...]`, options anywhere.
pub fn parse_question(words: &[String]) -> Result<Question, String> {
    let (mut trace, mut short) = (false, false);
    let mut positional = Vec::new();
    for word in words {
        match word.strip_prefix('+') {
            Some("trace") => trace = true,
            Some("short") => short = true,
            Some("notrace") => trace = false,
            Some("noshort") => short = false,
            Some(option) if option.starts_with("norec") || option.starts_with("rec") => {
                return Err(format!(
                    "`{word}` is not supported: a lab's resolvers always recurse (RD=0 is treated as RD=1)"
                ))
            }
            Some(_) => {
                return Err(format!(
                    "unknown dig option `{word}`; wirelab dig knows +trace and +short"
                ))
            }
            None if word.starts_with('@') => {
                return Err(format!(
                    "`{word}`: wirelab dig asks the first resolver of --from's host; pick the host instead"
                ))
            }
            None => positional.push(word.as_str()),
        }
    }
    let (name, qtype) = match positional.as_slice() {
        [name] => (*name, "A"),
        [name, qtype] => (*name, *qtype),
        _ => {
            return Err(format!(
                "expected NAME [TYPE], got {} words: {}",
                positional.len(),
                positional.join(" ")
            ))
        }
    };
    Ok(Question {
        name: parse_name(name)?,
        qtype: parse_type(qtype)?,
        trace,
        short,
    })
}

fn parse_name(text: &str) -> Result<Name, String> {
    let mut name =
        Name::from_ascii(text).map_err(|e| format!("`{text}` is not a domain name: {e}"))?;
    // dig asks for the name as given, from the root: `example.com` is
    // `example.com.` (no search list).
    name.set_fqdn(true);
    Ok(name)
}

fn parse_type(text: &str) -> Result<RecordType, String> {
    let upper = text.to_ascii_uppercase();
    match upper.parse::<RecordType>() {
        Ok(RecordType::OPT | RecordType::AXFR | RecordType::IXFR) => Err(format!(
            "`{text}` cannot be asked of a resolver (OPT is EDNS's pseudo-record; zone transfers go to a zone's server)"
        )),
        Ok(qtype) => Ok(qtype),
        Err(_) => {
            let best = TYPES_COMMON
                .iter()
                .map(|t| (strsim::levenshtein(t, &upper), *t))
                .min();
            let hint = match best {
                Some((d, t)) if d <= 2 => format!(" (did you mean {t}?)"),
                _ => format!("; common types: {}", TYPES_COMMON.join(", ")),
            };
            Err(format!("unknown record type `{text}`{hint}"))
        }
    }
}

/// One lookup, now: its text, and why no answer came if none did.
pub fn ask(
    net: &Network,
    sim: &mut Sim<'_>,
    host: usize,
    q: &Question,
) -> (String, Option<String>) {
    let id = sim.start_lookup(host, q.name.clone(), q.qtype);
    let until = sim.now() + wirelab_check::dns::LOOKUP_TIME_MAX;
    sim.run_while(until, |s| s.lookups()[id].outcome.is_some());
    let lookup = &sim.lookups()[id];
    let Some(StubOutcome::Answer(answer)) = &lookup.outcome else {
        let why = wirelab_check::dns::lookup_text(net, sim, id);
        return (render_timeout(&q.name, q.qtype), Some(why));
    };
    if q.short {
        return (render_short(&answer.message), None);
    }
    if q.trace {
        let mut text = render_trace(&q.name, q.qtype, &lookup.walk);
        if lookup.walk.is_empty() {
            text.push_str(";; answered from the resolver's cache: no query left it\n\n");
        }
        return (text, None);
    }
    let finished = lookup.finished.unwrap_or(sim.now());
    let query = DigQuery {
        name: q.name.clone(),
        qtype: q.qtype,
        server: answer.server,
        transport: answer.transport,
        query_time_ns: answer.query_time_ns,
        when_ns: finished.as_nanos(),
        size_bytes: answer.size_bytes,
    };
    (render(&query, &answer.message), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn words_in_any_order() {
        let q = parse_question(&words("+short example.com mx +trace")).unwrap();
        assert_eq!(q.name.to_string(), "example.com.");
        assert_eq!(q.qtype, RecordType::MX);
        assert!(q.short && q.trace);
        let q = parse_question(&words("www.example.com.")).unwrap();
        assert_eq!(q.qtype, RecordType::A);
    }

    #[test]
    fn mistakes_are_explained() {
        let err = |text: &str| parse_question(&words(text)).unwrap_err();
        assert_eq!(
            err("example.com MXX"),
            "unknown record type `MXX` (did you mean MX?)"
        );
        assert!(err("example.com +tcp").contains("knows +trace and +short"));
        assert!(err("example.com +norecurse").contains("always recurse"));
        assert!(err("a b c").contains("expected NAME [TYPE]"));
        assert!(err("@1.1.1.1 example.com").contains("first resolver"));
        assert!(err("example.com AXFR").contains("zone transfers"));
    }
}
