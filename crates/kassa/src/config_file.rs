//! `--config FILE` (`KASSA_CONFIG`): a command's options from a TOML file, keyed by their long
//! flag names (`callback-lease = 20`, or `callback_lease`), lists as arrays.
//!
//! The command line is parsed once; then every key of the file whose option was not given by a
//! flag or an environment variable becomes a `--key=value` argument and the command line is
//! parsed again, so clap's own parsers check file values as they check flags, and the
//! precedence is flag > environment > file > default. The valid keys are the command's own
//! options (read from clap, flattened groups included): nothing is listed by hand. Every
//! unknown key, wrong type and invalid value of the file is reported at once.

use crate::cli::{Cli, Command};
use crate::given::{Given, Origin};
use clap::builder::ValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use std::any::TypeId;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The option that names the file.
const CONFIG: &str = "config";

/// The command line, with the options of its `--config` file if the command has one. The file's
/// problems are in the command's [`Given`]: `serve` refuses them, `doctor` lists them.
pub fn parse() -> Cli {
    parse_from(std::env::args_os().collect())
}

fn parse_from(argv: Vec<OsString>) -> Cli {
    let mut command = Cli::command();
    // Built, so each subcommand lists the global options (`--log-format`) too.
    command.build();
    let first = command.clone().get_matches_from(&argv);
    let file = match first.subcommand() {
        Some((name, sub)) => match (command.find_subcommand(name), sub.try_get_one::<PathBuf>(CONFIG)) {
            (Some(options), Ok(Some(path))) => FileSettings::read(options, sub, path),
            _ => FileSettings::default(),
        },
        None => FileSettings::default(),
    };
    let matches = match file.arguments.is_empty() {
        true => first,
        false => {
            let argv = argv.into_iter().chain(file.arguments.iter().map(OsString::from));
            command.clone().try_get_matches_from(argv).unwrap_or_else(|e| e.exit())
        }
    };
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Serve(args) | Command::Doctor(args), Some((name, sub))) = (&mut cli.command, matches.subcommand())
        && let Some(options) = command.find_subcommand(name)
    {
        args.given = Given::new(origins(options, sub, &file), file.problems);
    }
    cli
}

/// What a config file sets: the arguments for its keys that apply, and its problems.
#[derive(Default)]
struct FileSettings {
    path: PathBuf,
    /// Clap id → the file's key, for the keys applied.
    keys: BTreeMap<String, String>,
    arguments: Vec<String>,
    problems: Vec<String>,
}

impl FileSettings {
    /// The settings of the file at `path` for `command`, except those `matches` got from a flag
    /// or the environment; every problem of the file at once.
    fn read(command: &clap::Command, matches: &ArgMatches, path: &Path) -> Self {
        let mut file = Self { path: path.to_owned(), ..Self::default() };
        let table = match std::fs::read_to_string(path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|e| format!("not valid TOML: {e}")),
            Err(e) => Err(format!("cannot be read: {e}")),
        };
        let table = match table {
            Ok(table) => table,
            Err(problem) => {
                file.problems.push(format!("the config file {}: {problem}", path.display()));
                return file;
            }
        };
        let options: Vec<&Arg> =
            command.get_arguments().filter(|a| a.get_long().is_some_and(|l| l != CONFIG) && !a.is_hide_set()).collect();
        let mut seen = BTreeMap::new();
        for (key, value) in &table {
            let long = key.replace('_', "-");
            let found = options.iter().find(|a| a.get_long() == Some(long.as_str()));
            let applied = match found {
                None if long == CONFIG => Err("a config file cannot name another (`config`)".to_owned()),
                None => Err(unknown_key(key, &options)),
                Some(_) if seen.contains_key(&long) => {
                    Err(format!("`{key}` and `{}` are the same option: give it once", seen[&long]))
                }
                Some(option) => {
                    seen.insert(long.clone(), key.clone());
                    let id = option.get_id().as_str();
                    if matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
                        continue;
                    }
                    flag_arguments(option, &long, value)
                        .and_then(|args| check(command, key, value, args))
                        .map(|args| (id.to_owned(), args))
                }
            };
            match applied {
                Ok((id, args)) => {
                    file.keys.insert(id, key.clone());
                    file.arguments.extend(args);
                }
                Err(problem) => file.problems.push(format!("{}: {problem}", path.display())),
            }
        }
        file
    }
}

fn unknown_key(key: &str, options: &[&Arg]) -> String {
    let long = key.replace('_', "-");
    let nearest = options
        .iter()
        .filter_map(|a| a.get_long())
        .map(|known| (strsim::jaro_winkler(&long, known), known))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match nearest {
        Some((_, known)) => format!("unknown key `{key}` (did you mean `{known}`?)"),
        None => format!("unknown key `{key}` (the keys are the long option names of `--help`)"),
    }
}

/// What a TOML value of one option's key must be.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Number,
    Text,
}

impl Kind {
    fn of(parser: &ValueParser) -> Self {
        let id = parser.type_id();
        let integers = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
        ];
        if integers.iter().any(|t| id == *t) {
            Kind::Integer
        } else if id == TypeId::of::<f64>() || id == TypeId::of::<f32>() {
            Kind::Number
        } else {
            Kind::Text
        }
    }

    fn text(self, value: &toml::Value) -> Option<String> {
        match (self, value) {
            (Kind::Integer | Kind::Number, toml::Value::Integer(n)) => Some(n.to_string()),
            (Kind::Number, toml::Value::Float(x)) => Some(x.to_string()),
            (Kind::Text, toml::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Text => "string",
        }
    }

    fn expected(self) -> String {
        match self {
            Kind::Integer => "an integer".into(),
            kind => format!("a {}", kind.noun()),
        }
    }
}

/// The command-line arguments that give `option` the file's `value`.
fn flag_arguments(option: &Arg, long: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let kind = Kind::of(option.get_value_parser());
    let wrong = |expected: String| format!("`{long} = {}`: expected {expected}", shown(value));
    match option.get_action() {
        ArgAction::SetTrue => match value {
            toml::Value::Boolean(true) => Ok(vec![format!("--{long}")]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            _ => Err(wrong("true or false".into())),
        },
        ArgAction::Append => match value {
            toml::Value::Array(items) => items
                .iter()
                .map(|item| kind.text(item).map(|text| format!("--{long}={text}")))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| wrong(format!("an array of {}s", kind.noun()))),
            _ => Err(wrong(format!("an array of {}s", kind.noun()))),
        },
        action if action.takes_values() => {
            kind.text(value).map(|text| vec![format!("--{long}={text}")]).ok_or_else(|| wrong(kind.expected()))
        }
        _ => Err(format!("`{long}` cannot be set in a config file")),
    }
}

/// `args` if clap takes them (the option alone on the command: its own parser decides).
fn check(command: &clap::Command, key: &str, value: &toml::Value, args: Vec<String>) -> Result<Vec<String>, String> {
    let Err(error) = command.clone().no_binary_name(true).try_get_matches_from(&args) else { return Ok(args) };
    // Combinations (a missing companion, a conflict) are the full parse's to report.
    if matches!(error.kind(), ErrorKind::MissingRequiredArgument | ErrorKind::ArgumentConflict) {
        return Ok(args);
    }
    let cause = match (error.kind(), error.get(ContextKind::ValidValue)) {
        (ErrorKind::InvalidValue, Some(ContextValue::Strings(valid))) => {
            format!("expected one of {}", valid.join(", "))
        }
        _ => match std::error::Error::source(&error) {
            Some(source) => source.to_string(),
            None => error.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned(),
        },
    };
    Err(format!("`{key} = {}`: {cause}", shown(value)))
}

/// `value` as the file wrote it, near enough for a message.
fn shown(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => format!("{text:?}"),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(at) => at.to_string(),
        toml::Value::Array(items) => format!("[{}]", items.iter().map(shown).collect::<Vec<_>>().join(", ")),
        toml::Value::Table(_) => "{ … }".to_owned(),
    }
}

/// Where each option of `matches` that is not at its default came from.
fn origins(command: &clap::Command, matches: &ArgMatches, file: &FileSettings) -> BTreeMap<String, Origin> {
    let mut origins = BTreeMap::new();
    for option in command.get_arguments() {
        let id = option.get_id().as_str();
        let origin = match (matches.value_source(id), file.keys.get(id)) {
            (Some(ValueSource::CommandLine), Some(key)) => Origin::File { path: file.path.clone(), key: key.clone() },
            (Some(ValueSource::CommandLine), None) => Origin::CommandLine,
            (Some(ValueSource::EnvVariable), _) => {
                Origin::Environment(option.get_env().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default())
            }
            _ => continue,
        };
        origins.insert(id.to_owned(), origin);
    }
    origins
}
