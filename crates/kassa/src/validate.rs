//! What is wrong with a serve configuration, found before anything is opened or bound: every
//! contradictory or meaningless combination of options, each problem with what to change.
//! `serve` refuses to start on any of them; `kassa doctor` lists them.

use crate::cli::ServeArgs;
use crate::database::{self, Backend};
use crate::files::{RESERVED_FILES, connections_that_fit};
use kassa_core::Timestamp;
use kassa_server::Mode;
use kassa_server::model::credentials;
use reqwest::Url;
use std::net::IpAddr;

/// Every problem of `args` (its config file's first), given the process's file limit.
pub fn problems(args: &ServeArgs, file_limit: u64) -> Vec<String> {
    [
        args.given.file_problems().to_vec(),
        database(args),
        public_url(args),
        sandbox(args),
        auth_throttle(args),
        callback_lease(args),
        client_connections(args, file_limit),
        metrics_listen(args),
        args.senders.settings().err().unwrap_or_default(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What works but an operator should know (logged by `serve`, listed by `doctor`).
pub fn warnings(args: &ServeArgs) -> Vec<String> {
    let mut warnings = Vec::new();
    if args.mode == Mode::Production && args.keys.secret_key.is_none() {
        warnings.push("no --secret-key: webhook signing secrets are stored in clear in the database".to_owned());
    }
    if let Ok(messaging) = args.senders.settings() {
        let recorded = messaging.recorded();
        if args.mode == Mode::Production && !recorded.is_empty() {
            warnings.push(format!(
                "production mode: distribution messages by {} are recorded, not sent (choose --email-sender smtp, \
                 --sms-sender http)",
                recorded.join(" and ")
            ));
        }
    }
    if args.auth_failures == 0 {
        warnings.push("failed credential attempts are not throttled (--auth-failures 0)".to_owned());
    }
    warnings
}

/// The refusal of a configuration with `problems`.
pub fn refusal(problems: &[String]) -> String {
    let list: Vec<String> = problems.iter().map(|p| format!("\n  - {p}")).collect();
    format!("the configuration is refused ({} problem(s)):{}", problems.len(), list.concat())
}

/// The options that mean something for one backend only, and PostgreSQL's smallest pool.
fn database(args: &ServeArgs) -> Vec<String> {
    let given = &args.given;
    let backend = match database::backend(&args.database.database) {
        Ok(backend) => backend,
        Err(problem) => return vec![format!("{}: {problem}", given.flag("database", "database"))],
    };
    let mut problems = Vec::new();
    match backend {
        Backend::Sqlite if given.contains("max_connections") => problems.push(format!(
            "{} sizes PostgreSQL's connection pool; a SQLite database has one writer and its own readers: remove it",
            given.flag("max_connections", "max-connections")
        )),
        Backend::Postgres if given.contains("durability") => problems.push(format!(
            "{} applies to SQLite only; on PostgreSQL acknowledged changes are as durable as its \
             synchronous_commit makes them: remove it",
            given.flag("durability", "durability")
        )),
        _ => {}
    }
    if backend == Backend::Postgres && args.database.max_connections < 2 {
        problems.push(format!(
            "{} {}: kassa needs at least 2 PostgreSQL connections (group commits and callback bookkeeping each \
             hold one while requests read)",
            given.flag("max_connections", "max-connections"),
            args.database.max_connections
        ));
    }
    problems
}

/// The base of every URL kassa hands out: an http(s) origin, https in production.
fn public_url(args: &ServeArgs) -> Vec<String> {
    let flag = args.given.flag("public_url", "public-url");
    let Some(text) = &args.public_url else {
        // The default is the listen address, which must then be one clients can reach.
        let ip = args.listen.ip();
        if ip.is_unspecified() {
            return vec![format!(
                "without --public-url the URLs kassa hands out would be http://{}, which no client can reach: \
                 give --public-url",
                args.listen
            )];
        }
        if args.mode == Mode::Production && !ip.is_loopback() {
            return vec![format!(
                "production mode without --public-url would hand out http://{} URLs: give an https --public-url",
                args.listen
            )];
        }
        return Vec::new();
    };
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(e) => return vec![format!("{flag} {text:?} is not a URL: {e}")],
    };
    let mut problems = Vec::new();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        problems.push(format!("{flag} {text:?} must be an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(format!("{flag} {text:?} must not carry credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        problems.push(format!(
            "{flag} {text:?} must be an origin without a path, query or fragment (kassa's routes and pages are at \
             its root)"
        ));
    }
    if args.mode == Mode::Production && url.scheme() == "http" && !is_loopback(&url) {
        problems.push(format!(
            "{flag} {text:?}: production mode hands out payment links and login pages there, so it must be https \
             (http only for a loopback host)"
        ));
    }
    problems
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The sandbox merchant exists in sandbox mode only; sandbox mode allows every callback target.
fn sandbox(args: &ServeArgs) -> Vec<String> {
    let given = &args.given;
    let credentials = given.flag("sandbox_credentials", "sandbox-credentials");
    let mut problems = Vec::new();
    match (args.mode, &args.sandbox_credentials) {
        (Mode::Production, Some(_)) => problems.push(format!(
            "{credentials} names the sandbox merchant, which production mode does not create: remove it (add \
             merchants with `kassa merchant add`)"
        )),
        (Mode::Sandbox, Some(pair)) => {
            let checked = match pair.split_once(':') {
                Some((username, secret)) => {
                    credentials::create("Sandbox merchant", Some(username), Some(secret), Timestamp::from_millis(0))
                        .map(|_| ())
                }
                None => Err("expected username:secret".to_owned()),
            };
            if let Err(problem) = checked {
                problems.push(format!("{credentials}: {problem}"));
            }
        }
        (_, None) => {}
    }
    if args.mode == Mode::Sandbox && !args.callback_allow_hosts.is_empty() {
        problems.push(format!(
            "{} opens callback targets to hosts, but sandbox mode allows every target already: remove it, or run \
             --mode production",
            given.flag("callback_allow_hosts", "callback-allow-hosts")
        ));
    }
    problems
}

/// A refill interval for failures nobody counts.
fn auth_throttle(args: &ServeArgs) -> Vec<String> {
    let given = &args.given;
    if args.auth_failures == 0 && given.contains("auth_failure_refill") {
        return vec![format!(
            "{} means nothing with {} 0 (failed credential attempts are not throttled): remove one",
            given.flag("auth_failure_refill", "auth-failure-refill"),
            given.flag("auth_failures", "auth-failures")
        )];
    }
    Vec::new()
}

/// A claim's lease against the database's write latency.
///
/// An attempt may run longer than a lease (15 s on the extended policy): one heartbeat renews
/// the claims in flight a third of a lease apart, so the attempt timeout needs no relation to
/// the lease. What must fit in a lease is the bookkeeping: a claim's lease is counted from before
/// its claim is written; the heartbeat may just have read the claims to renew, so the new claim
/// waits for that renewal's write and a third of a lease, then for its own renewal's write. Each
/// of the three writes may take as long as a durable write of a node that is still ready
/// (`--ready-timeout`); if they do not fit, a slow but ready node loses claims mid-attempt and
/// another node sends those callbacks again. So 2/3 × lease ≥ 3 × ready timeout.
fn callback_lease(args: &ServeArgs) -> Vec<String> {
    let (lease, ready) = (args.callback_lease, args.ready_timeout);
    let shortest = (9 * ready).div_ceil(2);
    if lease >= shortest {
        return Vec::new();
    }
    vec![format!(
        "{} {lease} is too short for {} {ready}: a claim's lease must cover its own write, a third of a lease until \
         the heartbeat and up to two renewals, each of which may take as long as a ready node's write; give a \
         lease of at least {shortest} s (4.5 × the ready timeout) or a shorter ready timeout, or a slow node loses \
         its callbacks to another node mid-attempt and they are sent twice",
        args.given.flag("callback_lease", "callback-lease"),
        args.given.flag("ready_timeout", "ready-timeout")
    )]
}

/// The metrics need an address of their own: on the API's they could not be kept from its clients.
fn metrics_listen(args: &ServeArgs) -> Vec<String> {
    let Some(metrics) = args.metrics_listen else { return Vec::new() };
    let clash = metrics.port() != 0
        && metrics.port() == args.listen.port()
        && (metrics.ip() == args.listen.ip() || metrics.ip().is_unspecified() || args.listen.ip().is_unspecified());
    if !clash {
        return Vec::new();
    }
    vec![format!(
        "{} {metrics} is the API's address ({} {}): give the metrics a port of their own, which only your \
         Prometheus reaches",
        args.given.flag("metrics_listen", "metrics-listen"),
        args.given.flag("listen", "listen"),
        args.listen
    )]
}

/// The client connection cap against the file limit (raised to its hard limit at start).
fn client_connections(args: &ServeArgs, file_limit: u64) -> Vec<String> {
    let Some(fit) = connections_that_fit(file_limit) else {
        return vec![format!(
            "the file limit of {file_limit} leaves no room for client connections ({RESERVED_FILES} are kept for \
             the database and callbacks): raise it (ulimit -n)"
        )];
    };
    match args.clients.max_client_connections {
        Some(asked) if asked > fit => vec![format!(
            "{} {asked} does not fit the file limit of {file_limit} (at most {fit}: {RESERVED_FILES} are kept for \
             the database and callbacks); raise the limit (ulimit -n) or the cap lower",
            args.given.flag("max_client_connections", "max-client-connections")
        )],
        _ => Vec::new(),
    }
}
