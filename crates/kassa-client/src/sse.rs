//! Server-Sent Events read as a browser's `EventSource` reads them: events split at blank lines
//! (`\n\n` or `\r\n\r\n`), comments (keep-alives) skipped, bytes past an event kept for the next
//! chunk, so an event split across chunks, even inside a UTF-8 character, is read whole.

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    /// The `data` lines, joined with newlines.
    pub data: String,
}

/// Turns the bytes of a stream into its events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes as they arrived.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole event of what has arrived; blocks without data are dropped on the way.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        while let Some((end, separator)) = block_end(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end + separator).collect();
            let text = String::from_utf8_lossy(&block[..end]);
            let (mut id, mut event, mut data) = (None, None, Vec::new());
            for line in text.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => id = Some(value.to_owned()),
                    "event" => event = Some(value.to_owned()),
                    "data" => data.push(value.to_owned()),
                    _ => {}
                }
            }
            if !data.is_empty() {
                return Some(SseEvent { id, event, data: data.join("\n") });
            }
        }
        None
    }
}

/// Where the first block ends, and how long its separator is.
fn block_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2));
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| (at, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_read_whole() {
        let stream = "id: 7\nevent: status\ndata: {\"a\":\"é\"}\n\n: keep-alive\n\nid: 8\ndata: x\ndata: y\n\n";
        let bytes = stream.as_bytes();
        for cut in 0..bytes.len() {
            let mut decoder = SseDecoder::new();
            decoder.push(&bytes[..cut]);
            let mut events: Vec<SseEvent> = std::iter::from_fn(|| decoder.next_event()).collect();
            decoder.push(&bytes[cut..]);
            events.extend(std::iter::from_fn(|| decoder.next_event()));
            assert_eq!(events.len(), 2, "cut at {cut}");
            assert_eq!(events[0].id.as_deref(), Some("7"));
            assert_eq!(events[0].event.as_deref(), Some("status"));
            assert_eq!(events[0].data, "{\"a\":\"é\"}");
            assert_eq!(events[1].data, "x\ny");
        }
    }

    #[test]
    fn crlf_separators_are_read() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"id: 1\r\ndata: a\r\n\r\nid: 2\ndata: b\n\n");
        assert_eq!(decoder.next_event().unwrap().data, "a");
        assert_eq!(decoder.next_event().unwrap().id.as_deref(), Some("2"));
        assert_eq!(decoder.next_event(), None);
    }
}
