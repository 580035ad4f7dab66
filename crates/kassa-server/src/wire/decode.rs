//! Reading request bodies into wire types: every problem is named (malformed JSON, a body that
//! is not an object, a field of the wrong type by its JSON path), as Klarna's errors do.

use kassa_core::nesting;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Why a body or value does not fit its wire type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, not an object, or the wrong shape as a whole.
    #[error("{0}")]
    Malformed(String),
    /// A field of the wrong type or value; `field` is its JSON path.
    #[error("Bad value: {field}")]
    BadValue { field: String, reason: String },
}

/// Every kassa request body is a JSON object (serde would also read a struct from an array).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => {
            return Err(DecodeError::Malformed("The request body is empty; send a JSON object".into()));
        }
        Some(_) => {
            return Err(DecodeError::Malformed("The request body must be a JSON object".into()));
        }
    }
    if let Err(deep) = nesting::check(bytes, nesting::REQUEST_LIMIT) {
        let reason = format!("nests arrays and objects deeper than {} levels", deep.limit);
        return Err(match deep.field {
            Some(field) => DecodeError::BadValue { field, reason },
            None => DecodeError::BadValue { field: "body".into(), reason },
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(shape_error)?;
    deserializer.end().map_err(|e| DecodeError::Malformed(format!("Malformed JSON: {e}")))?;
    Ok(value)
}

/// Reads a typed value out of already-parsed JSON, naming the field that does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(shape_error)
}

fn shape_error(error: serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        Category::Data if path != "." => DecodeError::BadValue {
            field: path,
            reason: format!("has the wrong type or value: {}", strip_position(&inner)),
        },
        Category::Data => {
            DecodeError::Malformed(format!("The request body has the wrong shape: {}", strip_position(&inner)))
        }
        Category::Syntax | Category::Eof | Category::Io => DecodeError::Malformed(format!("Malformed JSON: {inner}")),
    }
}

/// serde's "at line 1 column 12" means nothing next to a field path.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
