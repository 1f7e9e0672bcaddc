//! `curl URL`: one HTTP(S) request from the host in the session's
//! simulation (`wirelab_check::http::request_to`), printed as curl prints
//! it: the body (or `[N bytes]` for a body the lab gives no text), the
//! status line and headers with `-i`, `-w`'s variables, and curl's error
//! messages and exit statuses.

use wirelab_check::http::{curl_error, request_to, Outcome};
use wirelab_sim::http_apps::{reason_phrase, HttpExchange, Response};
use wirelab_sim::SimTime;

use super::{Done, Shell};

const TRY_HELP: &str = "curl: try 'curl --help' for more information\n";

#[derive(Default)]
struct CurlArgs {
    silent: bool,
    show_error: bool,
    include: bool,
    v6: bool,
    write_out: Option<String>,
    url: Option<String>,
}

fn curl_args(args: &[String]) -> Result<CurlArgs, String> {
    let mut a = CurlArgs::default();
    let mut it = args.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "--silent" => a.silent = true,
            "--show-error" => a.show_error = true,
            "--include" => a.include = true,
            "--write-out" => {
                a.write_out = Some(
                    it.next()
                        .ok_or("option --write-out: requires parameter")?
                        .clone(),
                )
            }
            long if long.starts_with("--") => return Err(format!("option {long}: is unknown")),
            short if short.starts_with('-') && short.len() > 1 => {
                let letters: Vec<char> = short[1..].chars().collect();
                for (k, c) in letters.iter().enumerate() {
                    match c {
                        's' => a.silent = true,
                        'S' => a.show_error = true,
                        'i' => a.include = true,
                        '4' => a.v6 = false,
                        '6' => a.v6 = true,
                        // `-w FMT`, or `-wFMT`.
                        'w' => {
                            let rest: String = letters[k + 1..].iter().collect();
                            a.write_out = Some(if rest.is_empty() {
                                it.next().ok_or("option -w: requires parameter")?.clone()
                            } else {
                                rest
                            });
                            break;
                        }
                        other => return Err(format!("option -{other}: is unknown")),
                    }
                }
            }
            _ => a.url = Some(w.clone()),
        }
    }
    Ok(a)
}

pub fn curl(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let a = match curl_args(args) {
        Ok(a) => a,
        Err(e) => return Done::with(format!("curl: {e}\n{TRY_HELP}"), 2),
    };
    let Some(text) = a.url.clone() else {
        return Done::with(format!("curl: no URL specified\n{TRY_HELP}"), 2);
    };
    // Without a scheme curl guesses http.
    let with_scheme = if text.contains("://") {
        text.clone()
    } else {
        format!("http://{text}")
    };
    let url = match wirelab_spec::parse_url(&with_scheme) {
        Ok(u) => u,
        Err(_) => {
            let scheme = with_scheme.split("://").next().unwrap_or_default();
            return if scheme == "http" || scheme == "https" {
                error(
                    &a,
                    "curl: (3) URL rejected: Malformed input to a URL function",
                    3,
                )
            } else {
                error(
                    &a,
                    &format!("curl: (1) Protocol \"{scheme}\" not supported"),
                    1,
                )
            };
        }
    };
    let started = sh.sim.now();
    let host = url.host.trim_end_matches('.').to_string();
    let v6 = a.v6 || host.contains(':');
    let target = match sh.resolve(&host, v6) {
        Ok(t) => t,
        Err(_) => {
            let out = error(&a, &format!("curl: (6) Could not resolve host: {host}"), 6);
            return with_write_out(&a, out, &Vars::failed(6));
        }
    };
    let outcome = request_to(&mut sh.sim, sh.net, sh.host, target.addr, &url, started);
    let x = outcome.exchange.map(|i| sh.sim.http_exchange(i).clone());
    let response = x
        .as_ref()
        .and_then(|x| x.result.clone())
        .and_then(Result::ok);
    let vars = Vars {
        outcome: Some(&outcome),
        exchange: x.as_ref(),
        response: response.as_ref(),
        remote: Some((target.addr.to_string(), url.port)),
        url: url.to_string(),
        exit: 0,
    };
    let done = match (&response, &outcome.message) {
        (Some(r), _) => Done::ok(body(r, a.include)),
        (None, Some(m)) => {
            let code = exit_code(m)
                .or(outcome.error.map(|e| curl_error(e).0))
                .unwrap_or(1);
            error(&a, m, code)
        }
        (None, None) => error(&a, "curl: (28) Operation timed out", 28),
    };
    let vars = Vars {
        exit: done.status,
        ..vars
    };
    with_write_out(&a, done, &vars)
}

/// The status out of `curl: (N) ...`.
fn exit_code(message: &str) -> Option<u8> {
    let rest = message.strip_prefix("curl: (")?;
    rest.split(')').next()?.parse().ok()
}

fn error(a: &CurlArgs, message: &str, code: u8) -> Done {
    let out = if a.silent && !a.show_error {
        String::new()
    } else {
        format!("{message}\n")
    };
    Done::with(out, code)
}

/// What curl writes: the head with `-i`, then the body.
fn body(r: &Response, include: bool) -> String {
    let mut out = String::new();
    if include {
        out.push_str(&format!(
            "HTTP/1.1 {} {}\nServer: wirelab\nContent-Type: text/plain\nContent-Length: {}\nConnection: close\n\n",
            r.status,
            reason_phrase(r.status),
            r.body_bytes
        ));
    }
    match &r.text {
        Some(t) if t.ends_with('\n') => out.push_str(t),
        // A prompt right after the body is hard to read: end the line.
        Some(t) => out.push_str(&format!("{t}\n")),
        None if r.body_bytes == 0 => {}
        None => out.push_str(&format!("[{} bytes]\n", r.body_bytes)),
    }
    out
}

/// What `-w` can print.
struct Vars<'a> {
    outcome: Option<&'a Outcome>,
    exchange: Option<&'a HttpExchange>,
    response: Option<&'a Response>,
    remote: Option<(String, u16)>,
    url: String,
    exit: u8,
}

impl Vars<'_> {
    fn failed(exit: u8) -> Vars<'static> {
        Vars {
            outcome: None,
            exchange: None,
            response: None,
            remote: None,
            url: String::new(),
            exit,
        }
    }

    /// A time of the exchange, in seconds from the start, as curl prints
    /// it; 0 when that step was not reached.
    fn time(&self, pick: impl Fn(&HttpExchange) -> Option<SimTime>) -> String {
        let (Some(o), Some(x)) = (self.outcome, self.exchange) else {
            return "0.000000".into();
        };
        let t = pick(x).map_or(0, |t| t.as_nanos().saturating_sub(o.started.as_nanos()));
        format!("{}.{:06}", t / 1_000_000_000, t % 1_000_000_000 / 1_000)
    }

    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "http_code" | "response_code" => {
                format!("{:03}", self.response.map_or(0, |r| r.status))
            }
            "time_namelookup" => match self.outcome {
                Some(o) => {
                    let t = o.namelookup.as_nanos().saturating_sub(o.started.as_nanos());
                    format!("{}.{:06}", t / 1_000_000_000, t % 1_000_000_000 / 1_000)
                }
                None => "0.000000".into(),
            },
            "time_connect" => self.time(|x| x.timing.connected),
            "time_appconnect" => self.time(|x| x.timing.tls_done),
            "time_starttransfer" => self.time(|x| x.timing.first_byte),
            "time_total" => self.time(|x| x.timing.done.or(x.timing.first_byte)),
            "size_download" => self.response.map_or(0, |r| r.body_bytes).to_string(),
            "remote_ip" => self
                .remote
                .as_ref()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            "remote_port" => self
                .remote
                .as_ref()
                .map(|r| r.1.to_string())
                .unwrap_or_default(),
            "url_effective" | "url" => self.url.clone(),
            "exitcode" => self.exit.to_string(),
            _ => return None,
        })
    }
}

fn with_write_out(a: &CurlArgs, mut done: Done, vars: &Vars<'_>) -> Done {
    if let Some(fmt) = &a.write_out {
        done.out.push_str(&write_out(fmt, vars));
    }
    done
}

/// `-w`'s format: `%{variable}`, `%%`, and the escapes `\n`, `\t`, `\r`.
fn write_out(fmt: &str, vars: &Vars<'_>) -> String {
    let mut out = String::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%{") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                match vars.get(name) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&format!("%{{{name}}}")),
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        let (text, len) = match (c, rest.chars().nth(1)) {
            ('%', Some('%')) => ("%", 2),
            ('\\', Some('n')) => ("\n", 2),
            ('\\', Some('t')) => ("\t", 2),
            ('\\', Some('r')) => ("\r", 2),
            _ => ("", 0),
        };
        if len > 0 {
            out.push_str(text);
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_out_expands_variables_and_escapes() {
        let v = Vars::failed(6);
        assert_eq!(write_out(r"%{http_code} %{exitcode}%%\n", &v), "000 6%\n");
        assert_eq!(write_out("%{nope}", &v), "%{nope}");
    }
}
