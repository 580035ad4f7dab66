//! Where each option of a command set explicitly came from (a flag, an environment variable, a
//! key of the config file), so a problem names the option as the user set it.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where an option set explicitly (not left at its default) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    /// The environment variable.
    Environment(String),
    /// The key of the config file.
    File {
        path: PathBuf,
        key: String,
    },
}

/// The options of a command set explicitly, by clap id (the field's name), with where each
/// came from; and what was wrong with its config file.
#[derive(Debug, Clone, Default)]
pub struct Given {
    options: BTreeMap<String, Origin>,
    file_problems: Vec<String>,
}

impl Given {
    pub fn new(options: BTreeMap<String, Origin>, file_problems: Vec<String>) -> Self {
        Self { options, file_problems }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.options.contains_key(id)
    }

    /// The option as the user set it: `--flag`, `--flag (KASSA_FLAG)` or `--flag (flag in
    /// kassa.toml)`; `id` is the field's name, `long` its flag.
    pub fn flag(&self, id: &str, long: &str) -> String {
        match self.options.get(id) {
            Some(Origin::Environment(variable)) => format!("--{long} ({variable})"),
            Some(Origin::File { path, key }) => format!("--{long} ({key} in {})", path.display()),
            Some(Origin::CommandLine) | None => format!("--{long}"),
        }
    }

    /// The unknown keys, wrong types and invalid values of the config file (whose keys were not
    /// applied), or that it cannot be read.
    pub fn file_problems(&self) -> &[String] {
        &self.file_problems
    }
}
