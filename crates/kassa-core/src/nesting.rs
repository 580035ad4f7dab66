//! How deeply a JSON text nests arrays and objects, found by one pass over its bytes before
//! anything parses it: request bodies are refused past [`REQUEST_LIMIT`] levels, and the store
//! reads a record of any depth up to [`STORED_LIMIT`], so nothing kassa accepted can later fail
//! to read back (serde_json's parser stops at 128 levels, and a stored record wraps a request's
//! values a few levels deeper than they arrived).

/// The deepest nesting a request body may have. Klarna's bodies nest about six levels.
pub const REQUEST_LIMIT: usize = 64;

/// The deepest nesting a stored record is read with (beyond serde_json's default of 128, below
/// anything that could exhaust the stack).
pub const STORED_LIMIT: usize = 512;

/// A text nesting deeper than the limit it was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    /// The top-level key under which the limit was passed, when the text is an object.
    pub field: Option<String>,
    pub limit: usize,
}

/// Checks that `text` nests at most `limit` levels of arrays and objects (strings are skipped,
/// escapes included). Malformed JSON is left to the parser.
pub fn check(text: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0;
    let mut last_string: Option<&[u8]> = None;
    let mut key: Option<&[u8]> = None;
    for (at, &byte) in text.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    if depth == 1 {
                        last_string = Some(&text[string_start..at]);
                    }
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_start = at + 1;
            }
            b':' if depth == 1 => key = last_string.take(),
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    let field = key.map(|k| String::from_utf8_lossy(k).into_owned());
                    return Err(TooDeep { field, limit });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!(r#"{{"a":1,"options":{}1{},"b":"x"}}"#, "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn counts_arrays_and_objects_and_names_the_top_level_field() {
        assert_eq!(check(nested(63).as_bytes(), 64), Ok(()));
        assert_eq!(check(nested(64).as_bytes(), 64), Err(TooDeep { field: Some("options".into()), limit: 64 }));
        assert_eq!(check(b"[[[1]]]", 2), Err(TooDeep { field: None, limit: 2 }));
        assert_eq!(check(b"1", 0), Ok(()));
    }

    #[test]
    fn brackets_and_quotes_inside_strings_do_not_count() {
        let text = r#"{"k\"[{":"[[[[{{{{\"]]","v":[1]}"#;
        assert_eq!(check(text.as_bytes(), 2), Ok(()));
        assert_eq!(check(text.as_bytes(), 1), Err(TooDeep { field: Some("v".into()), limit: 1 }));
    }
}
