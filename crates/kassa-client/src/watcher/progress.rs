//! What the watcher has handed the application, kept in a file: the feed's cursor and each
//! session's last sequence number. With it the watcher decides, for every event from any
//! source, whether to hand it on now, hold it for an earlier one, or drop it as already seen.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An event as the watcher hands it to the application.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedEvent {
    pub event_id: String,
    /// `hpp`, `distribution`, `payment`, `order` or `customer_token`.
    pub session_kind: String,
    pub session_id: String,
    /// The event's number within its session: the application sees 1, 2, 3 … of each session.
    pub sequence: u64,
    pub status: String,
    /// The session's read body at the change.
    pub body: serde_json::Value,
    /// Where the watcher had it from first.
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Callback,
    /// The events feed: reconciliation found what no callback brought.
    Feed,
    /// The events stream, followed while callbacks had stopped.
    Stream,
}

/// What to do with an offered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it on now (then [`Progress::handed`]).
    Hand,
    /// Already handed on: drop it.
    Seen,
    /// An earlier event of its session is missing: kept until it comes.
    Held,
}

/// The persisted part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Saved {
    /// The feed's cursor: every event at or before it has been handed on or dropped as seen.
    cursor: Option<String>,
    /// Per session, the last sequence number handed on.
    sessions: HashMap<String, u64>,
}

/// The watcher's progress, in memory and in its file.
#[derive(Debug)]
pub struct Progress {
    path: PathBuf,
    saved: Saved,
    /// Callbacks that came before an earlier event of their session, by session and sequence.
    held: HashMap<String, BTreeMap<u64, WatchedEvent>>,
    /// The ids of the last events handed on (this process), oldest first: a callback of one of
    /// them is seen, whatever its (unsigned) session and sequence headers say.
    recent: HashSet<String>,
    recent_order: VecDeque<String>,
}

/// How many handed-on event ids [`Progress`] remembers.
const RECENT: usize = 100_000;

impl Progress {
    /// The progress in `path`, or a fresh one when there is no such file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let saved = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!("the watcher's state file {} is unreadable: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(source) => return Err(Error::Io { context: format!("reading {}", path.display()), source }),
        };
        Ok(Self {
            path: path.to_owned(),
            saved,
            held: HashMap::new(),
            recent: HashSet::new(),
            recent_order: VecDeque::new(),
        })
    }

    pub fn cursor(&self) -> Option<&str> {
        self.saved.cursor.as_deref()
    }

    /// Judges `event`. The feed (and stream) bring every session's events in order, from the
    /// watcher's first cursor, so what they bring is handed on unless already seen; a callback
    /// may be early, late, repeated or missing, so it is handed on only when it is the next of
    /// its session (or the first: sequence 1), and held otherwise.
    pub fn judge(&mut self, event: &WatchedEvent) -> Verdict {
        let last = self.saved.sessions.get(&event.session_id).copied().unwrap_or(0);
        if event.sequence <= last || self.recent.contains(&event.event_id) {
            return Verdict::Seen;
        }
        let in_order = event.sequence == last + 1;
        if event.source != Source::Callback || in_order {
            return Verdict::Hand;
        }
        self.held.entry(event.session_id.clone()).or_default().insert(event.sequence, event.clone());
        Verdict::Held
    }

    /// Records that `event` was handed on, and saves. Returns the held event of its session
    /// that is next now, if any.
    pub fn handed(&mut self, event: &WatchedEvent) -> Result<Option<WatchedEvent>, Error> {
        self.saved.sessions.insert(event.session_id.clone(), event.sequence);
        self.save()?;
        if self.recent.insert(event.event_id.clone()) {
            self.recent_order.push_back(event.event_id.clone());
            if self.recent_order.len() > RECENT
                && let Some(oldest) = self.recent_order.pop_front()
            {
                self.recent.remove(&oldest);
            }
        }
        let Some(held) = self.held.get_mut(&event.session_id) else { return Ok(None) };
        held.retain(|sequence, _| *sequence > event.sequence);
        let next = held.first_key_value().filter(|(s, _)| **s == event.sequence + 1).map(|(_, e)| e.clone());
        if let Some(next) = &next {
            held.remove(&next.sequence);
        }
        if held.is_empty() {
            self.held.remove(&event.session_id);
        }
        Ok(next)
    }

    /// Whether callbacks wait for an earlier event.
    #[cfg(test)]
    pub fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    /// Moves the feed's cursor past an event handed on or seen (saved with the next
    /// [`Progress::save`] or [`Progress::handed`]: replaying from an older cursor only finds
    /// events already seen).
    pub fn advance(&mut self, cursor: &str) {
        self.saved.cursor = Some(cursor.to_owned());
    }

    /// Writes the file anew (`<file>.tmp`, synced, renamed over it, the folder synced): a crash
    /// leaves the old state or the new one, never a torn one.
    pub fn save(&self) -> Result<(), Error> {
        let io = |source| Error::Io { context: format!("writing {}", self.path.display()), source };
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let bytes = serde_json::to_vec(&self.saved).unwrap_or_default();
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        let folder = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(folder).and_then(|f| f.sync_all()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(session: &str, sequence: u64, source: Source) -> WatchedEvent {
        WatchedEvent {
            event_id: format!("{session}-{sequence}"),
            session_kind: "hpp".into(),
            session_id: session.into(),
            sequence,
            status: "WAITING".into(),
            body: serde_json::Value::Null,
            source,
        }
    }

    #[test]
    fn early_callbacks_wait_for_their_predecessors() {
        let dir = tempfile::tempdir().unwrap();
        let mut progress = Progress::load(&dir.path().join("state.json")).unwrap();
        assert_eq!(progress.judge(&event("a", 1, Source::Callback)), Verdict::Hand);
        assert_eq!(progress.handed(&event("a", 1, Source::Callback)).unwrap(), None);
        assert_eq!(progress.judge(&event("a", 3, Source::Callback)), Verdict::Held);
        assert!(progress.has_held());
        assert_eq!(progress.judge(&event("a", 1, Source::Feed)), Verdict::Seen);
        assert_eq!(progress.judge(&event("a", 2, Source::Feed)), Verdict::Hand);
        let next = progress.handed(&event("a", 2, Source::Feed)).unwrap();
        assert_eq!(next.map(|e| e.sequence), Some(3));
        progress.handed(&event("a", 3, Source::Callback)).unwrap();
        assert!(!progress.has_held());
        assert_eq!(progress.judge(&event("a", 3, Source::Feed)), Verdict::Seen);
        // A handed-on event's id is seen, whatever session and sequence come with it.
        let mut forged = event("a", 2, Source::Callback);
        forged.session_id = "b".into();
        forged.sequence = 1;
        assert_eq!(progress.judge(&forged), Verdict::Seen);
    }

    #[test]
    fn a_callback_after_its_session_started_elsewhere_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let mut progress = Progress::load(&dir.path().join("state.json")).unwrap();
        assert_eq!(progress.judge(&event("b", 2, Source::Callback)), Verdict::Held);
        assert_eq!(progress.judge(&event("b", 1, Source::Stream)), Verdict::Hand);
    }

    #[test]
    fn progress_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut progress = Progress::load(&path).unwrap();
        progress.handed(&event("a", 1, Source::Feed)).unwrap();
        progress.advance("17.4");
        progress.save().unwrap();
        drop(progress);
        let mut again = Progress::load(&path).unwrap();
        assert_eq!(again.cursor(), Some("17.4"));
        assert_eq!(again.judge(&event("a", 1, Source::Callback)), Verdict::Seen);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Progress::load(&path).is_err());
    }
}
