//! The API end to end: a server on 127.0.0.1:0 in this process, a real
//! HTTP client (ureq), assertions on status codes, media types and JSON.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use wirelab_server::{Config, LabSource, Limits, Speed};

const LAB01: &str = include_str!("../../../labs/01-one-router.yaml");
const LAB03: &str = include_str!("../../../labs/03-vpc-security.yaml");
const LAB06: &str = include_str!("../../../labs/06-traffic-over-a-wan.yaml");

struct Server {
    base: String,
    agent: ureq::Agent,
}

fn source(id: &str, text: &str) -> LabSource {
    LabSource {
        id: id.to_string(),
        file: format!("labs/{id}.yaml"),
        text: text.to_string(),
    }
}

/// Starts a server on its own runtime, in a thread that lives as long as
/// the test process.
fn start(config: Config, labs: Vec<LabSource>) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let server = wirelab_server::Server::bind(config, labs)
                .await
                .expect("the server binds");
            tx.send(server.local_addr()).expect("the test waits");
            server
                .run(std::future::pending())
                .await
                .expect("the server runs");
        });
    });
    let addr: SocketAddr = rx.recv().expect("the server's address");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A guard against a hung test, not a timing assertion.
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    Server {
        base: format!("http://{addr}/api/v1"),
        agent,
    }
}

fn config(speed: Speed, paused: bool) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        speed,
        paused,
        limits: Limits {
            check_threads: 2,
            ..Limits::default()
        },
        token: None,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A problem document of `status`, checked for its members.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.content_type, "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status);
        for key in ["type", "title", "detail", "instance"] {
            assert!(p[key].is_string(), "problem without {key}: {p}");
        }
        p
    }
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("an HTTP answer");
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Answer {
        status: r.status().as_u16(),
        content_type,
        headers,
        text: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

impl Server {
    fn get(&self, path: &str) -> Answer {
        answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    fn delete(&self, path: &str) -> Answer {
        answer(self.agent.delete(format!("{}{path}", self.base)).call())
    }

    fn put(&self, path: &str, content_type: &str, body: &str) -> Answer {
        answer(
            self.agent
                .put(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .send(body),
        )
    }

    fn post(&self, path: &str, body: Option<Value>) -> Answer {
        let req = self.agent.post(format!("{}{path}", self.base));
        answer(match body {
            Some(b) => req
                .header("content-type", "application/json")
                .send(b.to_string()),
            None => req.send_empty(),
        })
    }

    /// Waits (polling) until the lab's clock says `finished`.
    fn until_finished(&self, id: &str) -> Value {
        for _ in 0..6000 {
            let lab = self.get(&format!("/labs/{id}")).json();
            if lab["clock"]["state"] == "finished" {
                return lab;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("lab {id} never finished");
    }
}

#[test]
fn labs_are_listed_and_described() {
    let s = start(
        config(Speed::Max, true),
        vec![
            source("03-vpc-security", LAB03),
            source("01-one-router", LAB01),
        ],
    );
    let list = s.get("/labs");
    assert_eq!(list.status, 200);
    assert_eq!(list.content_type, "application/json");
    let list = list.json();
    let ids: Vec<&str> = list["labs"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["01-one-router", "03-vpc-security"], "sorted by id");
    assert_eq!(list["labs"][0]["validation"], "valid");
    assert_eq!(list["labs"][0]["name"], "one-router");

    let lab = s.get("/labs/01-one-router");
    assert_eq!(lab.status, 200);
    let lab = lab.json();
    assert_eq!(lab["source"], LAB01);
    assert_eq!(lab["format"], "yaml");
    assert_eq!(lab["counts"]["hosts"], 2);
    assert_eq!(lab["counts"]["routers"], 1);
    // Nothing to do (no traffic, no events): over at once.
    assert_eq!(lab["clock"]["state"], "finished");
    assert_eq!(lab["clock"]["end"], "quiet");
    assert_eq!(lab["clock"]["speed"], "max");

    let p = s.get("/labs/nope").problem(404);
    assert_eq!(p["instance"], "/api/v1/labs/nope");
    s.get("/labs/bad%20id").problem(400);
    s.get("/nowhere").problem(404);
    let not_allowed = answer(
        s.agent
            .patch(format!("{}/labs/01-one-router", s.base))
            .send_empty(),
    );
    not_allowed.problem(405);
    assert_eq!(not_allowed.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn put_creates_replaces_and_is_idempotent() {
    let s = start(config(Speed::Max, true), vec![]);
    let created = s.put("/labs/mine", "application/yaml", LAB01);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some("/api/v1/labs/mine"));
    assert_eq!(created.json()["validation"], "valid");

    let again = s.put("/labs/mine", "application/yaml", LAB01);
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json(),
        created.json(),
        "the same PUT leaves the same state"
    );
    assert_eq!(
        s.get("/labs").json()["labs"].as_array().map(Vec::len),
        Some(1)
    );

    let replaced = s.put("/labs/mine", "text/yaml", LAB03);
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.json()["name"], "vpc-security");

    // An invalid lab does not replace a valid one.
    let broken = LAB01.replace("ip: 10.0.2.20", "ip: 10.0.2.300");
    let p = s
        .put("/labs/mine", "application/yaml", &broken)
        .problem(422);
    let errors = p["errors"].as_array().expect("diagnostics");
    assert!(!errors.is_empty());
    let line = LAB01
        .lines()
        .position(|l| l.contains("ip: 10.0.2.20"))
        .expect("the line")
        + 1;
    assert!(
        errors.iter().any(|e| e["line"] == line
            && e["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("mine.yaml:{line}:")))),
        "a diagnostic at line {line}: {errors:?}"
    );
    assert_eq!(s.get("/labs/mine").json()["name"], "vpc-security");

    // An invalid new lab is kept, invalid, with its diagnostics.
    s.put("/labs/broken", "application/yaml", &broken)
        .problem(422);
    let kept = s.get("/labs/broken").json();
    assert_eq!(kept["validation"], "invalid");
    assert!(kept["diagnostics"][0]["line"]
        .as_u64()
        .is_some_and(|l| l > 0));
    s.post("/labs/broken/runs", None).problem(409);
    s.get("/labs/broken/topology").problem(409);
    // The same invalid body again: the same answer, one lab.
    s.put("/labs/broken", "application/yaml", &broken)
        .problem(422);
    assert_eq!(
        s.get("/labs").json()["labs"].as_array().map(Vec::len),
        Some(2)
    );

    s.put("/labs/mine", "text/plain", LAB01).problem(415);
    s.put("/labs/bad%20id", "application/yaml", LAB01)
        .problem(400);

    assert_eq!(s.delete("/labs/mine").status, 204);
    assert_eq!(s.delete("/labs/mine").status, 204, "DELETE is idempotent");
    s.get("/labs/mine").problem(404);
    assert_eq!(
        s.get("/labs").json()["labs"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn put_takes_json_with_positions_in_the_json_text() {
    let s = start(config(Speed::Max, true), vec![]);
    let lab = serde_json::json!({
        "lab": "tiny",
        "networks": { "lan": { "cidr": "10.0.0.0/24" } },
        "hosts": {
            "a": { "network": "lan", "ip": "10.0.0.10" },
            "b": { "network": "lan", "ip": "10.0.0.20", "services": [{ "port": 80 }] }
        },
        "checks": [{ "name": "a reaches b", "from": "a", "to": "b", "port": 80, "expect": "allow" }]
    });
    let text = serde_json::to_string_pretty(&lab).expect("json");
    let created = s.put("/labs/tiny", "application/json", &text);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["format"], "json");
    let run = s.post("/labs/tiny/runs", None).json();
    assert_eq!(run["passed"], 1);

    let wrong = text.replace("\"10.0.0.20\"", "\"10.0.0.999\"");
    let line = wrong
        .lines()
        .position(|l| l.contains("10.0.0.999"))
        .expect("the line")
        + 1;
    let p = s
        .put("/labs/tiny2", "application/json", &wrong)
        .problem(422);
    assert!(
        p["errors"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|e| e["line"] == line),
        "a diagnostic on line {line} of the JSON: {p}"
    );
    let p = s
        .put("/labs/tiny3", "application/json", "{\"lab\": ")
        .problem(422);
    assert!(p["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("not JSON")));
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let mut c = config(Speed::Max, true);
    c.limits.body_bytes_max = 1000;
    let s = start(c, vec![]);
    s.put("/labs/big", "application/yaml", &"#".repeat(5000))
        .problem(413);
    assert_eq!(
        s.get("/labs").json()["labs"].as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn a_run_is_the_report_of_wirelab_test() {
    let s = start(
        config(Speed::Max, false),
        vec![source("03-vpc-security", LAB03)],
    );
    let run = s.post("/labs/03-vpc-security/runs", None);
    assert_eq!(run.status, 200);
    assert_eq!(run.content_type, "application/json");
    let loaded = wirelab_spec::parse_str("labs/03-vpc-security.yaml", LAB03).expect("valid");
    let net = wirelab_net::Network::compile(&loaded.lab);
    let report = wirelab_check::run_checks(&net, 1);
    let expected = wirelab_check::render(&report, wirelab_check::Format::Json);
    assert_eq!(run.text, expected);
    // The documented schema describes it exactly.
    let view: wirelab_server::views::RunView = serde_json::from_str(&run.text).expect("a RunView");
    assert_eq!(view.checks.len(), report.checks.len());
    s.post("/labs/nope/runs", None).problem(404);
}

#[test]
fn a_trace_is_the_exchange_wirelab_trace_explains() {
    let s = start(
        config(Speed::Max, true),
        vec![source("01-one-router", LAB01)],
    );
    let body = serde_json::json!({ "from": "client", "to": "server", "port": 80 });
    let t = s.post("/labs/01-one-router/trace", Some(body));
    assert_eq!(t.status, 200, "{}", t.text);
    let doc = t.json();
    let _: wirelab_server::views::TraceView =
        serde_json::from_value(doc.clone()).expect("a TraceView");
    assert_eq!(doc["outcome"], "allow");
    assert_eq!(doc["path"], serde_json::json!(["r1"]));
    assert!(doc["steps"].as_array().is_some_and(|s| s.len() > 5));

    // Unknown host: 422 with a suggestion; missing port; bad JSON; not JSON.
    let p = s
        .post(
            "/labs/01-one-router/trace",
            Some(serde_json::json!({ "from": "clent", "to": "server", "port": 80 })),
        )
        .problem(422);
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("`client`")));
    s.post(
        "/labs/01-one-router/trace",
        Some(serde_json::json!({ "from": "client", "to": "server" })),
    )
    .problem(422);
    s.post(
        "/labs/01-one-router/trace",
        Some(serde_json::json!({ "from": "client" })),
    )
    .problem(400);
    answer(
        s.agent
            .post(format!("{}/labs/01-one-router/trace", s.base))
            .header("content-type", "text/plain")
            .send("from client"),
    )
    .problem(415);
}

#[test]
fn topology_has_nodes_interfaces_networks_and_links() {
    let s = start(
        config(Speed::Max, true),
        vec![source("01-one-router", LAB01)],
    );
    let t = s.get("/labs/01-one-router/topology").json();
    let nodes = t["nodes"].as_array().expect("nodes");
    let r1 = nodes.iter().find(|n| n["name"] == "r1").expect("r1");
    assert_eq!(r1["role"], "router");
    assert_eq!(r1["interfaces"].as_array().map(Vec::len), Some(2));
    assert_eq!(r1["interfaces"][0]["name"], "eth0");
    assert_eq!(r1["interfaces"][0]["ipv4"], "10.0.1.1");
    let server = nodes
        .iter()
        .find(|n| n["name"] == "server")
        .expect("server");
    assert_eq!(server["role"], "host");
    assert_eq!(
        server["services"],
        serde_json::json!(["tcp/80", "tcp/22", "udp/53"])
    );
    assert_eq!(t["networks"].as_array().map(Vec::len), Some(2));
    assert_eq!(t["networks"][0]["ipv4"], "10.0.1.0/24");
    assert_eq!(t["links"].as_array().map(Vec::len), Some(4));
}

#[test]
fn a_paused_clock_steps_and_resumes() {
    let s = start(config(Speed::Factor(1.0), true), vec![source("06", LAB06)]);
    let flows = s.get("/labs/06/flows").json();
    assert_eq!(flows["time_ns"], 0);
    let step = s.post(
        "/labs/06/clock",
        Some(serde_json::json!({ "action": "step", "step": "2s" })),
    );
    assert_eq!(step.status, 200, "{}", step.text);
    let clock = step.json();
    assert_eq!(clock["time_ns"], 2_000_000_000u64);
    assert_eq!(clock["state"], "paused");
    let flows = s.get("/labs/06/flows").json();
    assert_eq!(flows["time_ns"], 2_000_000_000u64);
    let backup = &flows["flows"][0];
    assert_eq!(backup["name"], "nightly backup");
    assert_eq!(backup["state"], "running");
    assert!(backup["bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(backup["rate_bps"].as_f64().is_some_and(|r| r > 0.0));
    let counters = s.get("/labs/06/counters").json();
    assert!(counters["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .any(|i| i["bytes"].as_u64().is_some_and(|b| b > 0)));

    s.post(
        "/labs/06/clock",
        Some(serde_json::json!({ "action": "step", "step": "soon" })),
    )
    .problem(422);
    s.post(
        "/labs/06/clock",
        Some(serde_json::json!({ "action": "jump" })),
    )
    .problem(400);

    let resumed = s
        .post(
            "/labs/06/clock",
            Some(serde_json::json!({ "action": "resume", "speed": "max" })),
        )
        .json();
    assert_eq!(resumed["speed"], "max");
    let lab = s.until_finished("06");
    assert_eq!(lab["clock"]["end"], "quiet");

    // Paced in steps, the lab ends as `wirelab run` does.
    let loaded = wirelab_spec::parse_str("06.yaml", LAB06).expect("valid");
    let net = wirelab_net::Network::compile(&loaded.lab);
    let options = wirelab_sim::scenario::RunOptions {
        until: wirelab_sim::SimTime(u64::MAX / 4),
        events_max: 2_000_000_000,
        capture: false,
    };
    let report = wirelab_sim::scenario::run(&net, options, &mut |_| {});
    assert_eq!(lab["clock"]["time_ns"], report.time_ns);
    let flows = s.get("/labs/06/flows").json();
    for (f, r) in flows["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .zip(&report.flows)
    {
        assert_eq!(f["name"], r.name);
        assert_eq!(f["bytes"], r.bytes_delivered);
        assert_eq!(f["done_ns"], serde_json::json!(r.done_ns));
        assert_eq!(
            f["state"],
            if r.done_ns.is_some() {
                "finished"
            } else {
                "failed"
            }
        );
    }

    // Reset: from time 0 again, paused as it was.
    let paused = s
        .post(
            "/labs/06/clock",
            Some(serde_json::json!({ "action": "pause" })),
        )
        .json();
    assert_eq!(
        paused["state"], "finished",
        "a finished clock stays finished"
    );
    let reset = s
        .post(
            "/labs/06/clock",
            Some(serde_json::json!({ "action": "reset", "speed": "1x" })),
        )
        .json();
    assert_eq!(reset["speed"], "1x");
    assert_eq!(reset["state"], "running", "a finished lab runs again");
    let paused = s
        .post(
            "/labs/06/clock",
            Some(serde_json::json!({ "action": "pause" })),
        )
        .json();
    assert_eq!(paused["state"], "paused");
    let reset = s
        .post(
            "/labs/06/clock",
            Some(serde_json::json!({ "action": "reset" })),
        )
        .json();
    assert_eq!(reset["state"], "paused");
    assert_eq!(reset["time_ns"], 0);
    assert_eq!(s.get("/labs/06/flows").json()["flows"][0]["bytes"], 0);
}

/// Reads SSE frames until `stop` says so; returns every event's data.
fn read_events(s: &Server, path: &str, mut stop: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let r = s
        .agent
        .get(format!("{}{path}", s.base))
        .call()
        .expect("an answer");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut reader = BufReader::new(r.into_body().into_reader());
    let mut events = Vec::new();
    let mut kind = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).expect("a line") == 0 {
            break;
        }
        let l = line.trim_end();
        if let Some(k) = l.strip_prefix("event: ") {
            kind = k.to_string();
        } else if let Some(d) = l.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(d).expect("JSON data");
            assert_eq!(v["type"], kind, "event: repeats the type");
            let _: wirelab_server::views::EventView =
                serde_json::from_value(v.clone()).expect("an EventView");
            events.push(v);
            if stop(&events) {
                break;
            }
        }
    }
    events
}

#[test]
fn events_stream_what_happens_at_max_speed() {
    let s = start(config(Speed::Max, false), vec![source("06", LAB06)]);
    let events = read_events(&s, "/labs/06/events", |e| {
        e.iter()
            .any(|v| v["type"] == "clock" && v["state"] == "finished")
    });
    let of = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(of("flow-started"), 4);
    assert_eq!(of("flow-finished"), 4);
    assert_eq!(of("link-down"), 1);
    assert_eq!(of("link-up"), 1);
    let down = events
        .iter()
        .find(|e| e["type"] == "link-down")
        .expect("link-down");
    assert_eq!(down["time_ns"], 3_000_000_000u64);
    assert_eq!(down["subject"], "hq-router-branch-router");
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids count up: {ids:?}"
    );

    // A run's checks are published too; a reconnect resumes after its
    // last id.
    let last = *ids.last().expect("ids");
    let run = s.post("/labs/06/runs", None).json();
    let checks = run["checks"].as_array().map(Vec::len).expect("checks");
    let r = s
        .agent
        .get(format!("{}/labs/06/events", s.base))
        .header("last-event-id", last.to_string())
        .call()
        .expect("an answer");
    let mut reader = BufReader::new(r.into_body().into_reader());
    let mut seen = Vec::new();
    let mut line = String::new();
    while seen.len() < checks + 1 {
        line.clear();
        assert!(reader.read_line(&mut line).expect("a line") > 0);
        if let Some(d) = line.trim_end().strip_prefix("data: ") {
            seen.push(serde_json::from_str::<Value>(d).expect("json"));
        }
    }
    assert_eq!(seen[0]["id"], last + 1);
    assert!(seen[..checks].iter().all(|e| e["type"] == "check-result"));
    assert_eq!(seen[checks]["type"], "run-finished");
}

#[test]
fn a_deleted_lab_ends_its_streams() {
    let s = start(config(Speed::Max, true), vec![source("01", LAB01)]);
    let r = s
        .agent
        .get(format!("{}/labs/01/events", s.base))
        .call()
        .expect("an answer");
    assert_eq!(s.delete("/labs/01").status, 204);
    let text = r.into_body().read_to_string().expect("the stream ends");
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("events");
    let last: Value = serde_json::from_str(last).expect("json");
    assert_eq!(last["type"], "lab-closed");
}

#[test]
fn subscribers_are_bounded() {
    let mut c = config(Speed::Max, true);
    c.limits.subscribers_max = 1;
    let s = start(c, vec![source("01", LAB01)]);
    let first = s
        .agent
        .get(format!("{}/labs/01/events", s.base))
        .call()
        .expect("ok");
    assert_eq!(first.status(), 200);
    s.get("/labs/01/events").problem(429);
    drop(first);
}

#[test]
fn a_lab_without_traffic_serves_everything() {
    let s = start(config(Speed::Factor(1.0), false), vec![source("01", LAB01)]);
    let lab = s.until_finished("01");
    assert_eq!(lab["clock"]["time_ns"], 0);
    assert_eq!(
        s.get("/labs/01/flows").json()["flows"],
        serde_json::json!([])
    );
    assert_eq!(s.get("/labs/01/counters").status, 200);
    assert_eq!(s.post("/labs/01/runs", None).status, 200);
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let s = start(config(Speed::Max, true), vec![]);
    let doc = s.get("/openapi.json");
    assert_eq!(doc.status, 200);
    let v = doc.json();
    assert!(v["openapi"].as_str().is_some_and(|o| o.starts_with("3.")));
    for path in [
        "/api/v1/labs",
        "/api/v1/labs/{id}",
        "/api/v1/labs/{id}/runs",
        "/api/v1/labs/{id}/topology",
        "/api/v1/labs/{id}/flows",
        "/api/v1/labs/{id}/counters",
        "/api/v1/labs/{id}/events",
        "/api/v1/labs/{id}/trace",
        "/api/v1/labs/{id}/clock",
        "/api/v1/openapi.json",
    ] {
        assert!(v["paths"][path].is_object(), "{path} is documented");
    }
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var_os("WIRELAB_UPDATE_OPENAPI").is_some() {
        std::fs::write(snapshot, &doc.text).expect("the snapshot is written");
    }
    let committed = std::fs::read_to_string(snapshot).unwrap_or_default();
    assert!(
        committed == doc.text,
        "the API changed: review it, then WIRELAB_UPDATE_OPENAPI=1 cargo test -p wirelab-server rewrites {snapshot}"
    );
}

const TOKEN: &str = "0123456789abcdef0123";

#[test]
fn with_a_token_only_reading_is_open() {
    let mut c = config(Speed::Max, true);
    c.token = Some(TOKEN.to_string());
    let s = start(c, vec![source("one", LAB01)]);
    // Reading needs no token.
    assert_eq!(s.get("/labs").status, 200);
    assert_eq!(s.get("/labs/one/topology").status, 200);
    // Changing or running something does.
    let p = s.put("/labs/mine", "application/yaml", LAB01).problem(401);
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Authorization: Bearer"),
        "{p}"
    );
    s.post("/labs/one/runs", None).problem(401);
    s.delete("/labs/one").problem(401);
    let wrong = answer(
        s.agent
            .post(format!("{}/labs/one/runs", s.base))
            .header("authorization", "Bearer 0123456789abcdef0124")
            .send_empty(),
    );
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Bearer realm=\"wirelab\"")
    );
    wrong.problem(401);
    assert_eq!(
        s.get("/labs").json()["labs"].as_array().map(Vec::len),
        Some(1)
    );
    // With it, they work.
    let run = answer(
        s.agent
            .post(format!("{}/labs/one/runs", s.base))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send_empty(),
    );
    assert_eq!(run.status, 200, "{}", run.text);
    let put = answer(
        s.agent
            .put(format!("{}/labs/mine", s.base))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/yaml")
            .send(LAB01),
    );
    assert_eq!(put.status, 201, "{}", put.text);
}

#[test]
fn an_uploaded_lab_cannot_read_the_servers_files() {
    let s = start(config(Speed::Max, true), vec![]);
    for file in ["zones/example.com.zone", "/etc/passwd", "../../etc/passwd"] {
        let lab = format!(
            "lab: files\nnetworks:\n  lan: {{ cidr: 10.0.0.0/24 }}\nhosts:\n  ns: {{ network: lan, services: [{{ port: 53, app: dns }}] }}\n\
             dns:\n  zones:\n    - {{ name: example.com, servers: [ns], file: {file} }}\n"
        );
        let p = s.put("/labs/files", "application/yaml", &lab).problem(422);
        let errors = p["errors"].to_string();
        assert!(
            errors.contains("a lab sent to the server cannot read files"),
            "{file}: {errors}"
        );
    }
}
