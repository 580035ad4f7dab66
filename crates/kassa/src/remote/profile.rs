//! The profile file: named kassas with their credentials, so `--profile staging` is enough.
//!
//! ```toml
//! [default]
//! url = "http://127.0.0.1:8080"
//! auth = "username:secret"
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: String,
    pub auth: String,
}

/// The profile `name` of the file at `path` (or the default path). No file is no profile; a
/// file without the profile is an error only when the profile was asked for by name.
pub fn load(path: Option<&Path>, name: &str) -> Result<Option<Profile>, String> {
    let Some(path) = path.map(Path::to_owned).or_else(default_path) else { return Ok(None) };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the profile file {}: {e}", path.display())),
    };
    let mut profiles: BTreeMap<String, Profile> =
        toml::from_str(&text).map_err(|e| format!("the profile file {} is not valid: {e}", path.display()))?;
    match profiles.remove(name) {
        Some(profile) => Ok(Some(profile)),
        None if name == "default" => Ok(None),
        None => Err(format!("the profile file {} has no [{name}] profile", path.display())),
    }
}

fn default_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("kassa").join("profiles.toml"))
}
