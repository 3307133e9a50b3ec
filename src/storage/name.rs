//! Which collection (and alias) names are allowed.

use super::StorageError;

const MAX_NAME_LEN: usize = 255;
const FORBIDDEN: &[char] = &['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0'];

/// Names become directory names, so they must be safe as one path segment.
pub fn validate_collection_name(name: &str) -> Result<(), StorageError> {
    let invalid = |message: String| StorageError::Validation {
        field: "collection_name".into(),
        message,
    };
    if name.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "length {} is over the limit of {MAX_NAME_LEN} bytes",
            name.len()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| FORBIDDEN.contains(c) || c.is_control())
    {
        return Err(invalid(format!(
            "{name:?} contains the forbidden character {c:?}"
        )));
    }
    if name.starts_with('.') || name.trim() != name {
        return Err(invalid(format!(
            "{name:?} must not start with '.' or begin or end with whitespace"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_path_tricks_and_accepts_plain_names() {
        for bad in [
            "",
            "a/b",
            "..",
            ".hidden",
            "a\\b",
            "x:y",
            " pad",
            &"n".repeat(256),
        ] {
            assert!(validate_collection_name(bad).is_err(), "{bad:?}");
        }
        for good in ["docs", "my-collection_2", "Ünïcode", &"n".repeat(255)] {
            assert!(validate_collection_name(good).is_ok(), "{good:?}");
        }
    }
}
