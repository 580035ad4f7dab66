//! `kassa serve`'s configuration as a user writes it: a TOML file under flags and environment
//! variables, and every contradictory or meaningless combination refused at start, all at once,
//! before anything is opened.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, DatabaseFile, serve_via};

/// A config file in its own temporary directory.
struct ConfigFile {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl ConfigFile {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kassa.toml");
        std::fs::write(&path, text).unwrap();
        Self { path, _dir: dir }
    }

    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// `kassa serve` with `args` and `env`, which must exit non-zero within 30 s (it is killed
/// otherwise and the test fails): its stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kassa serve {args:?} started instead of refusing its configuration");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

/// The banner's `Limits` line of a server started with `args` and `env` on a new database.
fn limits_of(args: &[&str], env: &[(&str, &str)]) -> String {
    let database = DatabaseFile::new();
    let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let prefix: Vec<&str> = ["env"].into_iter().chain(env.iter().map(String::as_str)).collect();
    let server = serve_via(&prefix, &database.url, args);
    server.banner.iter().find(|l| l.trim_start().starts_with("Limits")).cloned().unwrap()
}

#[test]
fn the_file_sets_options_under_the_environment_and_the_flags() {
    let file = ConfigFile::new(
        "rate-limits = \"off\"\nsandbox_credentials = \"filed:filed-secret-123456\"\ncallback-lease = 20\n",
    );
    let config = ["--config", file.arg()];
    assert_eq!(limits_of(&config, &[]).trim(), "Limits    off", "the file's value");
    assert!(limits_of(&config, &[("KASSA_RATE_LIMITS", "playground")]).contains("playground"), "env over file");
    let flagged = limits_of(&[&config[..], &["--rate-limits", "production"]].concat(), &[("KASSA_RATE_LIMITS", "off")]);
    assert!(flagged.contains("production: 40 session creates"), "flag over env: {flagged}");
    assert!(limits_of(&[], &[("KASSA_CONFIG", file.arg())]).contains("off"), "KASSA_CONFIG names the file");

    // snake_case keys apply: the sandbox merchant of the file.
    let database = DatabaseFile::new();
    let server = support::serve(&database.url, &config);
    assert_eq!(server.credentials().as_deref(), Some("filed:filed-secret-123456"), "{:?}", server.banner);
}

#[test]
fn unknown_keys_wrong_types_and_invalid_values_of_the_file_are_refused_each_by_name() {
    let database = DatabaseFile::new();
    let file = ConfigFile::new(
        "callback_leese = 20\n\
         callback-lease = 1\n\
         listen = 8080\n\
         auth-failures = \"10\"\n\
         mode = \"prod\"\n\
         callback-allow-hosts = \"a.example,b.example\"\n\
         rate-limits = \"create=0\"\n\
         [durability]\nlevel = 1\n",
    );
    let stderr = refused(&["--config", file.arg(), "--database", &database.url], &[]);
    let name = file.arg();
    for expected in [
        "unknown key `callback_leese` (did you mean `callback-lease`?)",
        "`callback-lease = 1`: 1 is not in 3..=3600",
        "`listen = 8080`: expected a string",
        "`auth-failures = \"10\"`: expected an integer",
        "`mode = \"prod\"`: expected one of sandbox, production",
        "`callback-allow-hosts = \"a.example,b.example\"`: expected an array of strings",
        "`rate-limits = \"create=0\"`: ",
        "`durability = { … }`: expected a string",
    ] {
        assert!(stderr.contains(&format!("{name}: {expected}")), "{expected}\n{stderr}");
    }
    assert!(stderr.contains("(8 problem(s))"), "{stderr}");
    assert!(!Path::new(database.url.trim_start_matches("sqlite://")).exists(), "nothing opened: {stderr}");

    let stderr = refused(&["--config", "/nonexistent/kassa.toml"], &[]);
    assert!(stderr.contains("the config file /nonexistent/kassa.toml: cannot be read"), "{stderr}");
    let file = ConfigFile::new("listen = \n");
    assert!(refused(&["--config", file.arg()], &[]).contains("not valid TOML"));
}

#[test]
fn a_flag_or_variable_over_a_bad_file_value_leaves_nothing_to_refuse() {
    let file = ConfigFile::new("rate-limits = \"bogus\"\n");
    let config = ["--config", file.arg()];
    assert!(limits_of(&[&config[..], &["--rate-limits", "off"]].concat(), &[]).contains("off"));
    assert!(limits_of(&config, &[("KASSA_RATE_LIMITS", "playground")]).contains("playground"));
}

/// Each refused combination: its arguments, its environment, and what the refusal says.
struct Refusal {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    says: &'static str,
}

const POSTGRES_CLOSED: &str = "postgres://postgres@127.0.0.1:1/kassa";

const REFUSALS: &[Refusal] = &[
    Refusal {
        args: &["--mode", "production", "--sandbox-credentials", "shop:shop-secret-123456"],
        env: &[],
        says: "--sandbox-credentials names the sandbox merchant, which production mode does not create",
    },
    Refusal {
        args: &["--mode", "production", "--public-url", "http://pay.example.com"],
        env: &[],
        says: "--public-url \"http://pay.example.com\": production mode hands out payment links and login pages there, so it must be https",
    },
    Refusal {
        args: &["--mode", "production", "--listen", "192.0.2.10:8080"],
        env: &[],
        says: "production mode without --public-url would hand out http://192.0.2.10:8080 URLs",
    },
    Refusal {
        args: &["--listen", "0.0.0.0:0"],
        env: &[],
        says: "without --public-url the URLs kassa hands out would be http://0.0.0.0:0, which no client can reach",
    },
    Refusal {
        args: &["--public-url", "pay.example.com"],
        env: &[],
        says: "--public-url \"pay.example.com\" is not a URL",
    },
    Refusal {
        args: &["--public-url", "https://pay.example.com/kassa?x=1"],
        env: &[],
        says: "must be an origin without a path, query or fragment",
    },
    Refusal {
        args: &["--public-url", "https://user:pw@pay.example.com"],
        env: &[],
        says: "must not carry credentials",
    },
    Refusal {
        args: &["--auth-failures", "0", "--auth-failure-refill", "30"],
        env: &[],
        says: "--auth-failure-refill means nothing with --auth-failures 0",
    },
    Refusal {
        args: &["--max-connections", "4"],
        env: &[],
        says: "--max-connections sizes PostgreSQL's connection pool; a SQLite database has one writer",
    },
    Refusal {
        args: &[],
        env: &[("KASSA_MAX_CONNECTIONS", "4")],
        says: "--max-connections (KASSA_MAX_CONNECTIONS) sizes PostgreSQL's connection pool",
    },
    Refusal {
        args: &["--database", POSTGRES_CLOSED, "--durability", "normal"],
        env: &[],
        says: "--durability applies to SQLite only",
    },
    Refusal {
        args: &["--database", POSTGRES_CLOSED, "--max-connections", "1"],
        env: &[],
        says: "--max-connections 1: kassa needs at least 2 PostgreSQL connections",
    },
    Refusal { args: &["--database", "mysql://x"], env: &[], says: "unsupported database URL \"mysql://x\"" },
    Refusal {
        args: &["--callback-lease", "8"],
        env: &[],
        says: "--callback-lease 8 is too short for --ready-timeout 2: ",
    },
    Refusal {
        args: &["--ready-timeout", "5"],
        env: &[],
        says: "--callback-lease 10 is too short for --ready-timeout 5: a claim's lease must cover its own write, a third of a lease until the heartbeat and up to two renewals, each of which may take as long as a ready node's write; give a lease of at least 23 s",
    },
    Refusal {
        args: &["--callback-allow-hosts", "hooks.internal"],
        env: &[],
        says: "--callback-allow-hosts opens callback targets to hosts, but sandbox mode allows every target already",
    },
    Refusal {
        args: &["--sandbox-credentials", "shop:short"],
        env: &[],
        says: "--sandbox-credentials: the secret must be at least 16 characters",
    },
    Refusal {
        args: &["--sandbox-credentials", "no-separator"],
        env: &[],
        says: "--sandbox-credentials: expected username:secret",
    },
    Refusal {
        args: &["--max-client-connections", "18446744073709551615"],
        env: &[],
        says: "--max-client-connections 18446744073709551615 does not fit the file limit",
    },
    Refusal {
        args: &["--listen", "127.0.0.1:18499", "--metrics-listen", "0.0.0.0:18499"],
        env: &[],
        says: "--metrics-listen 0.0.0.0:18499 is the API's address (--listen 127.0.0.1:18499)",
    },
];

#[test]
fn each_contradictory_or_meaningless_combination_is_refused_before_anything_is_opened() {
    for refusal in REFUSALS {
        let database = DatabaseFile::new();
        let mut args = refusal.args.to_vec();
        for (flag, default) in [("--listen", "127.0.0.1:0"), ("--database", database.url.as_str())] {
            if !args.contains(&flag) {
                args.extend([flag, default]);
            }
        }
        let stderr = refused(&args, refusal.env);
        assert!(stderr.contains(refusal.says), "{:?} {:?}\n{stderr}", refusal.args, refusal.env);
        assert!(stderr.contains("the configuration is refused (1 problem(s))"), "{stderr}");
        assert!(!Path::new(database.url.trim_start_matches("sqlite://")).exists(), "nothing opened: {stderr}");
    }
}

#[test]
fn every_problem_of_a_configuration_is_named_at_once() {
    let file = ConfigFile::new("auth-failure-refill = 30\ncallback-allow-hosts = [\"hooks.internal\"]\n");
    let stderr = refused(
        &[
            "--config",
            file.arg(),
            "--database",
            POSTGRES_CLOSED,
            "--durability",
            "normal",
            "--public-url",
            "https://pay.example.com/shop",
            "--auth-failures",
            "0",
            "--callback-lease",
            "3",
        ],
        &[],
    );
    let name = file.arg();
    for expected in [
        "the configuration is refused (5 problem(s))",
        "--durability applies to SQLite only",
        "--public-url \"https://pay.example.com/shop\" must be an origin without a path",
        &format!("--auth-failure-refill (auth-failure-refill in {name}) means nothing with --auth-failures 0"),
        &format!("--callback-allow-hosts (callback-allow-hosts in {name}) opens callback targets"),
        "--callback-lease 3 is too short for --ready-timeout 2",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("cannot open"), "refused before connecting: {stderr}");
}
