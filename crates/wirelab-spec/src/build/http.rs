//! HTTP and HTTPS (extension): what `app: http|https` services answer
//! (`routes`, `response`, `upstream`, `tls`), the `tls:` section
//! (authorities, certificates, trust, the date), and `http` checks.

use super::{NameTable, Names};
use crate::model::{
    Certificate, HttpAction, HttpCheck, HttpError, HttpExpect, HttpRoute, HttpService, Sp, Tls,
    TlsServer, TlsVersion, Url,
};
use crate::read::{self, did_you_mean, Diags, Fields};
use crate::yaml::{Node, Value};

pub const TLS_KEYS: [&str; 4] = ["date", "authorities", "certificates", "trusted"];
pub(crate) const CERTIFICATE_KEYS: [&str; 4] = ["names", "issuer", "not_before", "not_after"];
/// The keys a service takes beside `port`, `proto` and `app`, for HTTP.
pub const HTTP_SERVICE_KEYS: [&str; 6] =
    ["tls", "routes", "response", "upstream", "timeout", "delay"];
pub(crate) const SERVICE_TLS_KEYS: [&str; 2] = ["version", "certificate"];
pub(crate) const ROUTE_KEYS: [&str; 5] = ["path", "status", "body", "text", "upstream"];
pub(crate) const RESPONSE_KEYS: [&str; 3] = ["status", "body", "text"];
pub(crate) const HTTP_EXPECT_KEYS: [&str; 5] =
    ["status", "body_at_least", "contains", "within", "error"];
/// The date certificates are checked against when `tls:` sets none.
pub const DATE_DEFAULT: &str = "2026-01-01";
/// A proxy's wait for its upstream when the service sets no `timeout`
/// (nginx's `proxy_read_timeout` default).
pub const TIMEOUT_DEFAULT_NS: u64 = 60_000_000_000;
/// The body of a response that sets none.
const BODY_DEFAULT: u64 = 512;
const ROUTES_MAX: usize = 1_000;
const TEXT_BYTES_MAX: usize = 65_536;

/// Names of the authorities and certificates, read before the hosts.
#[derive(Default)]
pub(crate) struct TlsNames {
    pub authorities: NameTable,
    pub certificates: NameTable,
}

impl TlsNames {
    pub fn read(node: Option<&Node>) -> TlsNames {
        let mut names = TlsNames::default();
        let Some(Value::Map(entries)) = node.map(|n| &n.value) else {
            return names;
        };
        for (key, value) in entries {
            let table = match key.value.as_str() {
                "authorities" => &mut names.authorities,
                "certificates" => &mut names.certificates,
                _ => continue,
            };
            if let Value::Map(items) = &value.value {
                for (name, _) in items {
                    table.add(name.clone());
                }
            }
        }
        names
    }
}

/// `2026-11-30` as days since 1970-01-01 (proleptic Gregorian).
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a date: write YYYY-MM-DD, e.g. 2026-11-30");
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(bad());
    }
    // Days from civil (H. Hinnant's algorithm, written out).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

fn read_date(node: &Node, what: &str, d: &mut Diags) -> Option<i64> {
    let text = read::scalar_text(node, what, d)?;
    parse_date(&text).map_err(|e| d.error(node.span, e)).ok()
}

/// `tls:`.
pub(crate) fn read_tls(node: Option<&Node>, names: &TlsNames, d: &mut Diags) -> Tls {
    let mut tls = Tls {
        date_days: parse_date(DATE_DEFAULT).expect("the default date parses"),
        ..Tls::default()
    };
    tls.authorities = names.authorities.names.clone();
    let Some(node) = node else { return tls };
    let Some(fields) = read::fields(node, &TLS_KEYS, "`tls`", node.span, d) else {
        return tls;
    };
    if let Some(date) = fields.get("date").and_then(|n| read_date(n, "`date`", d)) {
        tls.date_days = date;
    }
    if let Some(n) = fields.get("authorities") {
        for (_, value) in read::map_or_empty(n, "`authorities`", d).unwrap_or(&[]) {
            if !matches!(value.value, Value::Null | Value::Map(_)) {
                d.error(value.span, "an authority is `{}` (it has no settings yet)");
            }
        }
    }
    if let Some(n) = fields.get("certificates") {
        for (name, value) in read::map_or_empty(n, "`certificates`", d).unwrap_or(&[]) {
            if let Some(cert) = read_certificate(name, value, names, tls.date_days, d) {
                tls.certificates.push(cert);
            }
        }
    }
    if let Some(n) = fields.get("trusted") {
        tls.trusted = read_authority_list(n, "`trusted`", names, d);
    }
    tls
}

fn read_certificate(
    name: &Sp<String>,
    node: &Node,
    names: &TlsNames,
    today: i64,
    d: &mut Diags,
) -> Option<Certificate> {
    let what = format!("certificate `{}`", name.value);
    let fields = read::fields(node, &CERTIFICATE_KEYS, &what, name.span, d)?;
    let mut dns_names = Vec::new();
    let list = fields.require("names", &what, d)?;
    for item in read::seq(list, "`names`", d).unwrap_or(&[]) {
        let Some(text) = read::string(item, "a certificate name", d) else {
            continue;
        };
        let lower = text.trim_end_matches('.').to_ascii_lowercase();
        let valid = !lower.is_empty()
            && lower.split('.').enumerate().all(|(i, label)| {
                (i == 0 && label == "*")
                    || (!label.is_empty()
                        && label.len() <= 63
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            });
        if valid {
            dns_names.push(lower);
        } else {
            d.error(
                item.span,
                format!("`{text}` is not a DNS name a certificate can hold"),
            );
        }
    }
    if dns_names.is_empty() {
        d.error(list.span, format!("{what} needs at least one name"));
    }
    let issuer = match fields.get("issuer") {
        None => Some(None),
        Some(n) => read::string(n, "`issuer`", d).and_then(|issuer| {
            if issuer == "self" {
                return Some(None);
            }
            let id = names.authorities.get(issuer);
            if id.is_none() {
                d.error_help(
                    n.span,
                    format!("unknown authority `{issuer}`"),
                    names.authorities.suggest(issuer).or_else(|| {
                        Some(
                            "declare it under `tls: { authorities: }`, or write `issuer: self`"
                                .into(),
                        )
                    }),
                );
            }
            id.map(Some)
        }),
    };
    // Unwritten dates: valid for a year around today, or for the 397 days
    // (the CA/Browser Forum's maximum) before a written `not_after`.
    let not_after = match fields.get("not_after") {
        None => Some(today + 335),
        Some(n) => read_date(n, "`not_after`", d),
    };
    let not_before = match fields.get("not_before") {
        None => not_after.map(|after| (today - 30).min(after - 397)),
        Some(n) => read_date(n, "`not_before`", d),
    };
    let (not_before, not_after) = (not_before?, not_after?);
    if not_after < not_before {
        let span = fields.get("not_after").map_or(name.span, |n| n.span);
        d.error(span, format!("{what} ends before it begins"));
        return None;
    }
    Some(Certificate {
        name: name.clone(),
        names: dns_names,
        issuer: issuer?,
        not_before_days: not_before,
        not_after_days: not_after,
    })
}

/// A list of authority names (`trusted:`, a host's `trust:`).
pub(crate) fn read_authority_list(
    node: &Node,
    what: &str,
    names: &TlsNames,
    d: &mut Diags,
) -> Vec<usize> {
    let mut ids = Vec::new();
    for item in read::seq(node, what, d).unwrap_or(&[]) {
        let Some(name) = read::string(item, "an authority", d) else {
            continue;
        };
        match names.authorities.get(name) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => d.warning(item.span, format!("authority `{name}` is listed twice")),
            None => d.error_help(
                item.span,
                format!("unknown authority `{name}`"),
                names.authorities.suggest(name),
            ),
        }
    }
    ids
}

/// The HTTP part of a service. `app` is the service's app; the HTTP keys
/// on another app are errors.
pub(crate) fn read_http_service(
    fields: &Fields,
    app: Option<&str>,
    names: &Names,
    tls_names: &TlsNames,
    d: &mut Diags,
) -> Option<HttpService> {
    let https = app == Some("https");
    if app != Some("http") && !https {
        for key in HTTP_SERVICE_KEYS {
            if let Some(span) = fields.key_span(key) {
                d.error(
                    span,
                    format!("`{key}` is for `app: http` and `app: https` services"),
                );
            }
        }
        return None;
    }
    let tls = if https {
        let mut server = TlsServer {
            version: TlsVersion::V1_3,
            certificate: None,
        };
        if let Some(n) = fields.get("tls") {
            if let Some(tf) = read::fields(n, &SERVICE_TLS_KEYS, "`tls`", n.span, d) {
                if let Some(v) = tf.get("version") {
                    match read::scalar_text(v, "`version`", d).as_deref() {
                        Some("1.3") => server.version = TlsVersion::V1_3,
                        Some("1.2") => server.version = TlsVersion::V1_2,
                        Some(other) => {
                            d.error(v.span, format!("TLS version `{other}` must be 1.2 or 1.3"))
                        }
                        None => {}
                    }
                }
                if let Some(c) = tf.get("certificate") {
                    if let Some(name) = read::string(c, "`certificate`", d) {
                        server.certificate = tls_names.certificates.get(name);
                        if server.certificate.is_none() {
                            d.error_help(
                                c.span,
                                format!("unknown certificate `{name}`"),
                                tls_names.certificates.suggest(name),
                            );
                        }
                    }
                }
            }
        }
        Some(server)
    } else {
        if let Some(span) = fields.key_span("tls") {
            d.error(span, "`tls` is for `app: https` services");
        }
        None
    };
    let mut routes = Vec::new();
    if let Some(n) = fields.get("routes") {
        let items = read::seq(n, "`routes`", d).unwrap_or(&[]);
        if items.len() > ROUTES_MAX {
            d.error(
                n.span,
                format!("too many routes (the limit is {ROUTES_MAX})"),
            );
        }
        for item in items.iter().take(ROUTES_MAX) {
            if let Some(route) = read_route(item, names, d) {
                routes.push(route);
            }
        }
    }
    let response = fields.get("response");
    let upstream = fields.get("upstream");
    let default = match (response, upstream) {
        (Some(r), Some(_)) => {
            d.error(
                r.span,
                "a service answers with `response` or forwards to `upstream`, not both",
            );
            None
        }
        (Some(r), None) => {
            let rf = read::fields(r, &RESPONSE_KEYS, "`response`", r.span, d)?;
            read_respond(&rf, d)
        }
        (None, Some(u)) => read_upstream(u, names, d),
        (None, None) => Some(HttpAction::Respond {
            status: 200,
            body_bytes: BODY_DEFAULT,
            text: None,
        }),
    };
    let timeout_ns = match fields.get("timeout") {
        None => Some(TIMEOUT_DEFAULT_NS),
        Some(n) => super::traffic::read_positive_time(n, "`timeout`", d),
    };
    let delay_ns = match fields.get("delay") {
        None => Some(0),
        Some(n) => super::traffic::read_time(n, "`delay`", d),
    };
    Some(HttpService {
        tls,
        routes,
        default: default?,
        timeout_ns: timeout_ns?,
        delay_ns: delay_ns?,
    })
}

fn read_route(node: &Node, names: &Names, d: &mut Diags) -> Option<HttpRoute> {
    let fields = read::fields(node, &ROUTE_KEYS, "a route", node.span, d)?;
    let path = fields.require("path", "a route", d).and_then(|n| {
        let p = read::string(n, "`path`", d)?;
        if !p.starts_with('/') {
            d.error(n.span, format!("a route's path starts with `/`: `{p}`"));
            return None;
        }
        Some(p.to_string())
    });
    let action = match fields.get("upstream") {
        Some(u) => {
            for key in ["status", "body", "text"] {
                if let Some(span) = fields.key_span(key) {
                    d.error(
                        span,
                        format!("a route forwards to `upstream` or answers with `{key}`, not both"),
                    );
                }
            }
            read_upstream(u, names, d)
        }
        None => read_respond(&fields, d),
    };
    Some(HttpRoute {
        path: path?,
        action: action?,
        span: node.span,
    })
}

fn read_respond(fields: &Fields, d: &mut Diags) -> Option<HttpAction> {
    let status = match fields.get("status") {
        None => Some(200),
        Some(n) => read::int_in(n, "`status`", 100, 599, d).map(|s| s as u16),
    };
    let text = match fields.get("text") {
        None => Some(None),
        Some(n) => read::string(n, "`text`", d).and_then(|t| {
            if t.len() > TEXT_BYTES_MAX {
                d.error(
                    n.span,
                    format!(
                        "`text` is longer than {TEXT_BYTES_MAX} bytes; give `body:` a size instead"
                    ),
                );
                return None;
            }
            Some(Some(t.to_string()))
        }),
    };
    let body = match (fields.get("body"), &text) {
        (Some(n), Some(Some(_))) => {
            d.error(
                n.span,
                "`body` is the size of a body without `text`; the text's length is the body's",
            );
            None
        }
        (Some(n), _) => super::tcp::read_size(n, "`body`", d),
        (None, Some(Some(t))) => Some(t.len() as u64),
        (None, _) => Some(BODY_DEFAULT),
    };
    Some(HttpAction::Respond {
        status: status?,
        body_bytes: body?,
        text: text?,
    })
}

/// `upstream: HOST:PORT`.
fn read_upstream(node: &Node, names: &Names, d: &mut Diags) -> Option<HttpAction> {
    let text = read::string(node, "`upstream`", d)?;
    let Some((host, port)) = text.rsplit_once(':') else {
        d.error(
            node.span,
            format!("`upstream` is HOST:PORT, e.g. app:8000; found `{text}`"),
        );
        return None;
    };
    let Ok(port) = port.parse::<u16>() else {
        d.error(node.span, format!("`{port}` is not a port (1..=65535)"));
        return None;
    };
    if port == 0 {
        d.error(node.span, "port 0 is not a port");
        return None;
    }
    match names.hosts.get(host) {
        Some(h) => Some(HttpAction::Proxy { host: h, port }),
        None => {
            d.error_help(
                node.span,
                format!("unknown host `{host}` in `upstream`"),
                names.hosts.suggest(host),
            );
            None
        }
    }
}

/// `http://host[:port]/path` or `https://...`.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let bad = |why: &str| format!("`{text}` is not a URL this lab can ask: {why}");
    let (https, rest) = match text.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
        Some((scheme, _)) => {
            return Err(bad(&format!("the scheme `{scheme}` is not http or https")))
        }
        None => return Err(bad("it must start with http:// or https://")),
    };
    // A query right after the host (`http://x?q`) has the path `/`.
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err(bad("user names in URLs are not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err(bad("an IPv6 address in brackets is missing its `]`"));
        };
        let port = after.strip_prefix(':');
        (addr.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
    };
    Ok(Url {
        https,
        host: host.to_ascii_lowercase(),
        port,
        path,
    })
}

/// `expect:` of an http check.
pub(crate) fn read_http_expect(node: &Node, check: &Fields, d: &mut Diags) -> Option<HttpExpect> {
    if !matches!(node.value, Value::Map(_)) {
        d.error(
            node.span,
            "an http check expects a map: `{ status: 200 }`, `{ error: tls-name }`, with `body_at_least`, `contains`, `within`",
        );
        return None;
    }
    let at = check.key_span("expect").unwrap_or(node.span);
    let fields = read::fields(node, &HTTP_EXPECT_KEYS, "`expect`", at, d)?;
    let mut expect = HttpExpect::default();
    let mut ok = true;
    if let Some(n) = fields.get("status") {
        expect.status = read::int_in(n, "`status`", 100, 599, d).map(|s| s as u16);
        ok &= expect.status.is_some();
    }
    if let Some(n) = fields.get("body_at_least") {
        expect.body_at_least = super::tcp::read_size(n, "`body_at_least`", d);
        ok &= expect.body_at_least.is_some();
    }
    if let Some(n) = fields.get("contains") {
        expect.contains = read::string(n, "`contains`", d).map(str::to_string);
        ok &= expect.contains.is_some();
    }
    if let Some(n) = fields.get("within") {
        expect.within_ns = super::traffic::read_positive_time(n, "`within`", d);
        ok &= expect.within_ns.is_some();
    }
    if let Some(n) = fields.get("error") {
        let codes: Vec<&str> = HttpError::ALL.iter().map(|e| e.code()).collect();
        expect.error = read::string(n, "`error`", d).and_then(|code| {
            let found = HttpError::ALL.into_iter().find(|e| e.code() == code);
            if found.is_none() {
                d.error_help(
                    n.span,
                    format!("unknown error `{code}`"),
                    did_you_mean(code, codes.iter().copied())
                        .or_else(|| Some(format!("errors: {}", codes.join(", ")))),
                );
            }
            found
        });
        ok &= expect.error.is_some();
        for key in ["status", "body_at_least", "contains"] {
            if let Some(span) = fields.key_span(key) {
                d.error(
                    span,
                    format!("a request that fails with an error has no `{key}`"),
                );
                ok = false;
            }
        }
    }
    if fields.get("status").is_none() && fields.get("error").is_none() {
        d.error(node.span, "`expect` needs `status` or `error`");
        ok = false;
    }
    ok.then_some(expect)
}

/// An http check's URL and expectation.
pub(crate) fn read_http_check(url_node: &Node, check: &Fields, d: &mut Diags) -> Option<HttpCheck> {
    let text = read::string(url_node, "`http`", d)?;
    let url = parse_url(text).map_err(|e| d.error(url_node.span, e)).ok();
    let expect = check
        .require("expect", "an http check", d)
        .and_then(|n| read_http_expect(n, check, d));
    Some(HttpCheck {
        url: url?,
        expect: expect?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_1970() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("1970-01-02"), Ok(1));
        assert_eq!(parse_date("2000-03-01"), Ok(11_017));
        assert_eq!(parse_date("2026-11-30"), Ok(20_787));
        assert!(parse_date("2026-02-29").is_err());
        assert_eq!(parse_date("2024-02-29"), Ok(19_782));
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("26-11-30").is_err());
    }

    #[test]
    fn urls_take_their_scheme_port_and_path() {
        let u = parse_url("https://Shop.Example.com/api/v1").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "shop.example.com", 443, "/api/v1")
        );
        let u = parse_url("http://10.0.1.5:8080").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (false, "10.0.1.5", 8080, "/")
        );
        let u = parse_url("http://[2001:db8::1]:81/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", 81));
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://x:0/").is_err());
        assert!(parse_url("http://:80/").is_err());
        assert_eq!(u.to_string(), "http://[2001:db8::1]:81/x");
    }
}
