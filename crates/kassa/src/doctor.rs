//! `kassa doctor`: a serve configuration checked against the world it will run in: its own
//! combinations, the database, the listen address, the public URL and the message senders. One
//! line per check, `ok`, `warning: …` or `problem: …`; exits 1 when any is a problem. It applies
//! no migration, creates no database and serves nothing.

use crate::cli::ServeArgs;
use crate::database::{self, Backend};
use crate::{files, validate};
use kassa_server::Mode;
use kassa_server::service::secrets;
use kassa_store::sql::{Migrations, SqlStore};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How long a connection or request of a check may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// One line of the report.
struct Finding {
    check: String,
    verdict: Verdict,
}

enum Verdict {
    Ok(String),
    Warning(String),
    Problem(String),
}

impl Finding {
    fn ok(check: &str, detail: impl Into<String>) -> Self {
        Self { check: check.to_owned(), verdict: Verdict::Ok(detail.into()) }
    }

    fn warning(check: &str, text: impl Into<String>) -> Self {
        Self { check: check.to_owned(), verdict: Verdict::Warning(text.into()) }
    }

    fn problem(check: &str, text: impl Into<String>) -> Self {
        Self { check: check.to_owned(), verdict: Verdict::Problem(text.into()) }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.verdict {
            Verdict::Ok(detail) if detail.is_empty() => write!(f, "{}: ok", self.check),
            Verdict::Ok(detail) => write!(f, "{}: ok ({detail})", self.check),
            Verdict::Warning(text) => write!(f, "{}: warning: {text}", self.check),
            Verdict::Problem(text) => write!(f, "{}: problem: {text}", self.check),
        }
    }
}

type Check<'a> = Pin<Box<dyn Future<Output = Vec<Finding>> + 'a>>;

/// Runs the checks in order and prints their findings. A check is one line here: an async
/// function of the arguments that answers its findings.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    let checks: Vec<Check<'_>> = vec![
        Box::pin(configuration(&args)),
        Box::pin(database(&args)),
        Box::pin(listen(&args)),
        Box::pin(public_url(&args)),
        Box::pin(senders(&args)),
    ];
    let (mut problems, mut warnings) = (0, 0);
    for check in checks {
        for finding in check.await {
            match finding.verdict {
                Verdict::Problem(_) => problems += 1,
                Verdict::Warning(_) => warnings += 1,
                Verdict::Ok(_) => {}
            }
            println!("{finding}");
        }
    }
    println!("kassa doctor: {problems} problem(s), {warnings} warning(s)");
    match problems {
        0 => Ok(()),
        n => Err(format!("{n} problem(s) found")),
    }
}

/// The combinations `serve` refuses (its config file's problems first), and its warnings.
async fn configuration(args: &ServeArgs) -> Vec<Finding> {
    const CHECK: &str = "configuration";
    let problems = match files::file_limit() {
        Ok(files) => validate::problems(args, files),
        Err(problem) => vec![problem],
    };
    let warnings = validate::warnings(args);
    if problems.is_empty() && warnings.is_empty() {
        return vec![Finding::ok(CHECK, "")];
    }
    let problems = problems.into_iter().map(|p| Finding::problem(CHECK, p));
    problems.chain(warnings.into_iter().map(|w| Finding::warning(CHECK, w))).collect()
}

/// Reachable, migrated (nothing applied here), a durable write, the merchants and their secrets.
async fn database(args: &ServeArgs) -> Vec<Finding> {
    const CHECK: &str = "database";
    let url = &args.database.database;
    let shown = database::redacted(url);
    let backend = match database::backend(url) {
        Ok(backend) => backend,
        Err(problem) => return vec![Finding::problem(CHECK, problem)],
    };
    let migrations = match tokio::time::timeout(PATIENCE, SqlStore::migrations(url)).await {
        Ok(Ok(migrations)) => migrations,
        Ok(Err(e)) => return vec![Finding::problem(CHECK, format!("cannot connect to {shown}: {e}"))],
        Err(_) => return vec![Finding::problem(CHECK, format!("{shown} did not answer within {PATIENCE:?}"))],
    };
    let mut findings = Vec::new();
    match migrations {
        Migrations::NoDatabase => {
            findings.push(Finding::warning(CHECK, format!("{shown} does not exist yet: serve creates it")));
            return findings;
        }
        Migrations::Known { applied, pending, unknown, broken } => {
            let kind = match backend {
                Backend::Sqlite => "SQLite",
                Backend::Postgres => "PostgreSQL",
            };
            findings.push(Finding::ok(CHECK, format!("{kind} at {shown} answers")));
            const MIGRATIONS: &str = "migrations";
            let fine = pending.is_empty() && unknown.is_empty() && broken.is_empty();
            if !broken.is_empty() {
                findings.push(Finding::problem(MIGRATIONS, format!("broken: {}", broken.join(", "))));
            }
            if !unknown.is_empty() {
                let versions: Vec<String> = unknown.iter().map(i64::to_string).collect();
                findings.push(Finding::problem(
                    MIGRATIONS,
                    format!("applied by a newer kassa, unknown to this one: {}", versions.join(", ")),
                ));
            }
            if !pending.is_empty() {
                findings.push(Finding::warning(
                    MIGRATIONS,
                    format!(
                        "{} pending ({}): `kassa migrate` or the next `kassa serve` applies them",
                        pending.len(),
                        pending.join(", ")
                    ),
                ));
            }
            if !fine {
                findings.push(Finding::warning(
                    "durable write, merchants, signing secrets",
                    "not checked until the database's migrations match this kassa",
                ));
                return findings;
            }
            findings.push(Finding::ok(MIGRATIONS, format!("all {applied} applied")));
        }
    }
    findings.extend(contents(args).await);
    findings
}

/// The checks of a migrated database: a durable write, its merchants and their secrets.
async fn contents(args: &ServeArgs) -> Vec<Finding> {
    let store = match database::open(&args.database).await {
        Ok(store) => store,
        Err(problem) => return vec![Finding::problem("database", problem)],
    };
    let mut findings = Vec::new();
    let within = Duration::from_secs(args.ready_timeout);
    findings.push(match tokio::time::timeout(within, store.ping()).await {
        Ok(Ok(())) => Finding::ok("durable write", format!("committed within --ready-timeout {within:?}")),
        Ok(Err(e)) => Finding::problem("durable write", e.to_string()),
        Err(_) => Finding::problem("durable write", format!("took longer than --ready-timeout {within:?}")),
    });
    let merchants = match store.merchants().await {
        Ok(merchants) => merchants,
        Err(e) => {
            findings.push(Finding::problem("merchants", e.to_string()));
            return findings;
        }
    };
    findings.push(match (merchants.len(), args.mode) {
        (0, Mode::Production) => {
            Finding::warning("merchants", "none: add one with `kassa merchant add` (production creates none)")
        }
        (0, Mode::Sandbox) => Finding::ok("merchants", "none yet: serve creates the sandbox merchant"),
        (n, _) => Finding::ok("merchants", format!("{n}")),
    });
    const SECRETS: &str = "signing secrets";
    let keys = args.keys.keys();
    let mut unreadable = 0;
    for merchant in &merchants {
        if let Err(e) = secrets::webhook_secrets(&keys, merchant) {
            unreadable += 1;
            findings.push(Finding::problem(SECRETS, e.to_string()));
        }
    }
    if unreadable == 0 {
        let stale = merchants.iter().filter(|m| m.webhook_secrets.iter().any(|s| !keys.is_current(s))).count();
        let detail = match keys.key_ids().first() {
            Some(key) if stale > 0 => {
                format!("every merchant's open; serve re-encrypts {stale} merchant(s)' under key {key} at start")
            }
            Some(key) => format!("every merchant's open, encrypted under key {key}"),
            None => "stored in clear: no --secret-key".to_owned(),
        };
        findings.push(Finding::ok(SECRETS, detail));
    }
    findings
}

/// The listen address can be bound; if it is taken, whether by a kassa.
async fn listen(args: &ServeArgs) -> Vec<Finding> {
    let check = format!("listen {}", args.listen);
    let finding = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(_) => Finding::ok(&check, "can be bound"),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let mut at = args.listen;
            if at.ip().is_unspecified() {
                at.set_ip(if at.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
            }
            match is_kassa(&format!("http://{at}")).await {
                Ok(()) => {
                    Finding::warning(&check, "in use by a running kassa (it answers /healthz): serve cannot bind it")
                }
                Err(what) => Finding::problem(&check, format!("in use by something else ({what})")),
            }
        }
        Err(e) => Finding::problem(&check, format!("cannot be bound: {e}")),
    };
    vec![finding]
}

/// The public URL's host resolves, and a kassa answers there (from here).
async fn public_url(args: &ServeArgs) -> Vec<Finding> {
    if args.public_url.is_none() && args.listen.port() == 0 {
        return vec![Finding::ok("public URL", "none given: the listen address, on the port serve picks")];
    }
    let base = args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.listen));
    let base = base.trim_end_matches('/').to_owned();
    let check = format!("public URL {base}");
    let host =
        reqwest::Url::parse(&base).ok().and_then(|u| Some((u.host_str()?.to_owned(), u.port_or_known_default()?)));
    let Some((host, port)) = host else {
        return vec![Finding::problem(&check, "not an http(s) URL with a host")];
    };
    let name = host.trim_matches(['[', ']']).to_owned();
    let resolved = tokio::time::timeout(PATIENCE, tokio::net::lookup_host((name.as_str(), port))).await;
    match resolved.map(|r| r.map(|addresses| addresses.count())) {
        Ok(Ok(1..)) => {}
        Ok(Ok(0)) => return vec![Finding::problem(&check, format!("{host} resolves to no address"))],
        Ok(Err(e)) => return vec![Finding::problem(&check, format!("{host} does not resolve: {e}"))],
        Err(_) => return vec![Finding::problem(&check, format!("{host} did not resolve within {PATIENCE:?}"))],
    }
    vec![match is_kassa(&base).await {
        Ok(()) => Finding::ok(&check, "a kassa answers /healthz there"),
        Err(what) => Finding::warning(&check, format!("no kassa answers there from here: {what}")),
    }]
}

/// Whether `base` is a kassa: `/healthz` answers `{"status":"ok"}` and `/openapi.json` is
/// kassa's.
async fn is_kassa(base: &str) -> Result<(), String> {
    let client = reqwest::Client::builder().timeout(PATIENCE).build().map_err(|e| e.to_string())?;
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let request = client.get(&url).send();
        async move {
            let response = request.await.map_err(|e| format!("GET {url}: {}", innermost(&e)))?;
            if !response.status().is_success() {
                return Err(format!("GET {url} answers {}", response.status()));
            }
            response.json::<serde_json::Value>().await.map_err(|_| format!("GET {url} does not answer JSON"))
        }
    };
    let health = get("/healthz").await?;
    let api = get("/openapi.json").await?;
    if health["status"] != "ok" || api["info"]["title"] != "kassa" {
        return Err(format!("{base} answers, but not as a kassa"));
    }
    Ok(())
}

/// The innermost cause of `error` (reqwest's own message says only that a request failed).
fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// How distribution messages (SMS, email) leave.
/// Each configured sender is probed (an SMTP greeting, the gateway answering) without sending.
async fn senders(args: &ServeArgs) -> Vec<Finding> {
    const CHECK: &str = "message senders";
    // Bad sender settings are the configuration check's problems.
    let Ok(settings) = args.senders.settings() else { return Vec::new() };
    let mut findings = Vec::new();
    let recorded = settings.recorded();
    // In production the configuration check warns of recorded messages already.
    if !recorded.is_empty() && args.mode == Mode::Sandbox {
        findings.push(Finding::ok(CHECK, format!("{} recorded, not sent (sandbox mode)", recorded.join(" and "))));
    }
    for (sender, answer) in kassa_server::app::sender::probe(&settings).await {
        findings.push(match answer {
            Ok(()) => Finding::ok(CHECK, format!("{sender} answers")),
            Err(problem) => Finding::problem(CHECK, format!("{sender}: {problem}")),
        });
    }
    findings
}
