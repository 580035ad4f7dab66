//! The client side of the CLI: commands that talk to a kassa (local or remote) over its API as
//! one merchant, through `kassa-client`.

pub mod listen;
pub mod profile;
pub mod sessions;
pub mod tail;
pub mod trigger;

use clap::Args;
use kassa_client::Client;
use kassa_client::events::EventQuery;
use std::path::PathBuf;

/// Which kassa, as whom: flags, else `KASSA_URL` / `KASSA_AUTH`, else a profile of the profile
/// file.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// kassa's base URL (`http://127.0.0.1:8080`).
    #[arg(long, env = "KASSA_URL")]
    pub url: Option<String>,
    /// The merchant's API credentials, `username:secret`.
    #[arg(long, env = "KASSA_AUTH", hide_env_values = true)]
    pub auth: Option<String>,
    /// The profile to use from the profile file when `--url`/`--auth` are not given.
    #[arg(long, env = "KASSA_PROFILE", default_value = "default")]
    pub profile: String,
    /// The profile file (TOML: a table per profile with `url` and `auth`). Default:
    /// `$XDG_CONFIG_HOME/kassa/profiles.toml` or `~/.config/kassa/profiles.toml`.
    #[arg(long, env = "KASSA_PROFILES")]
    pub profiles: Option<PathBuf>,
}

impl RemoteArgs {
    /// The client these arguments name.
    pub fn client(&self) -> Result<Client, String> {
        let profile = match (&self.url, &self.auth) {
            (Some(_), Some(_)) => None,
            _ => profile::load(self.profiles.as_deref(), &self.profile)?,
        };
        let url = self.url.clone().or_else(|| profile.as_ref().map(|p| p.url.clone())).ok_or_else(|| {
            format!("no kassa given: pass --url, set KASSA_URL, or add a [{}] profile with `url`", self.profile)
        })?;
        let auth = self.auth.clone().or_else(|| profile.as_ref().map(|p| p.auth.clone())).ok_or_else(|| {
            format!(
                "no credentials given: pass --auth, set KASSA_AUTH, or add `auth` to the [{}] profile",
                self.profile
            )
        })?;
        let (username, secret) = auth.split_once(':').ok_or("the credentials must be username:secret")?;
        Client::new(&url, username, secret).map_err(|e| e.to_string())
    }
}

/// Which events: the filters `listen` and `events tail` share.
#[derive(Debug, Clone, Args)]
pub struct EventFilter {
    /// Only events of this kind of session: payment, hpp, distribution, order or customer_token.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events that reached this status (COMPLETED, BACK, …).
    #[arg(long = "type", value_name = "STATUS")]
    pub status: Option<String>,
    /// Only this session's events.
    #[arg(long)]
    pub session_id: Option<String>,
    /// Start after this feed cursor (printed with each event) instead of at the feed's end.
    #[arg(long, conflicts_with = "from_start")]
    pub after: Option<String>,
    /// Start at the feed's beginning instead of at its end.
    #[arg(long)]
    pub from_start: bool,
}

impl EventFilter {
    /// The query to follow from: `--after`, the beginning, or (default) the feed's end now.
    pub async fn query(&self, client: &Client) -> Result<EventQuery, kassa_client::Error> {
        let mut query = EventQuery {
            after: self.after.clone(),
            session_id: self.session_id.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            ..EventQuery::default()
        };
        if self.after.is_none() && !self.from_start {
            query.after = Some(feed_end(client, &query).await?);
        }
        Ok(query)
    }
}

/// The cursor after the last event of the feed there is now.
async fn feed_end(client: &Client, query: &EventQuery) -> Result<String, kassa_client::Error> {
    let mut query = EventQuery { limit: Some(1000), ..query.clone() };
    loop {
        let page = client.events().page(&query).await?;
        if !page.has_more {
            return Ok(page.next_cursor);
        }
        query.after = Some(page.next_cursor);
    }
}
