//! JSON key paths into payloads, in Qdrant's syntax: `a`, `a.b`, `a[]`,
//! `a[0]`, `a[].b`, and quoted keys such as `"a.b"` or `a."key with spaces"`.
//!
//! A path always starts with an object key, followed by any number of key,
//! index (`[3]`) or every-element (`[]`) steps. Unquoted keys consist of
//! alphanumerics, `_` and `-`; anything else must be quoted, and a quoted key
//! cannot contain `"` or `\` (there is no escape syntax). A [`JsonPath`] can
//! only be built by parsing, so every value of the type is well formed and
//! prints back to a string that parses to the same path.
//!
//! The three payload operations follow Qdrant:
//! * [`values_at`] navigates without implicit flattening: `a.b` does not look
//!   inside an array `a`, only `a[].b` does. An array found at the end of the
//!   path is returned as one value; callers that match scalars look at its
//!   elements.
//! * [`set_at`] (set_payload with `key`) merges an object into the object at
//!   the path, creating missing objects on the way.
//! * [`remove_at`] (delete_payload keys) removes what the path points at.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::segment::payload::Payload;

/// A parsed key path; see the module docs for the syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath {
    head: String,
    rest: Vec<PathStep>,
}

/// One step of a path after its first key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// `.key` or `."quoted key"`: a key of an object.
    Key(String),
    /// `[n]`: one element of an array.
    Index(usize),
    /// `[]`: every element of an array.
    EachElement,
}

/// A key path that does not parse, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key path {path:?}: {reason}")]
pub struct PathError {
    path: String,
    reason: String,
}

impl JsonPath {
    /// The first key, looked up in the payload object itself.
    pub fn head(&self) -> &str {
        &self.head
    }

    /// The steps after the first key.
    pub fn steps(&self) -> &[PathStep] {
        &self.rest
    }
}

impl FromStr for JsonPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, PathError> {
        let fail = |reason: String| PathError {
            path: s.to_owned(),
            reason,
        };
        let mut cursor = Cursor { src: s, pos: 0 };
        let head = cursor.key().map_err(fail)?;
        let mut rest = Vec::new();
        while let Some(c) = cursor.peek() {
            let step = match c {
                '.' => {
                    cursor.pos += 1;
                    PathStep::Key(cursor.key().map_err(fail)?)
                }
                '[' => {
                    cursor.pos += 1;
                    cursor.bracket().map_err(fail)?
                }
                other => {
                    return Err(fail(format!(
                        "unexpected {other:?} at byte {}; expected '.', '[' or the end of the path",
                        cursor.pos
                    )))
                }
            };
            rest.push(step);
        }
        Ok(JsonPath { head, rest })
    }
}

/// A hand-rolled scanner: the grammar is small, and this way every error says
/// where the path went wrong.
struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn key(&mut self) -> Result<String, String> {
        if self.peek() == Some('"') {
            return self.quoted_key();
        }
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| is_bare_key_char(c)) {
            self.pos += c.len_utf8();
        }
        if self.pos == start {
            return Err(match self.peek() {
                None => format!("expected a key at byte {start}, found the end of the path"),
                Some(c) => format!(
                    "expected a key at byte {start}, found {c:?} (keys with characters other \
                     than letters, digits, '_' and '-' must be quoted)"
                ),
            });
        }
        Ok(self.src[start..self.pos].to_owned())
    }

    fn quoted_key(&mut self) -> Result<String, String> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(format!("the quote at byte {open} is never closed")),
                Some('"') => break,
                Some('\\') => {
                    return Err(format!(
                        "backslash at byte {} in a quoted key; quoted keys have no escapes",
                        self.pos
                    ))
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let key = self.src[start..self.pos].to_owned();
        self.pos += 1;
        Ok(key)
    }

    /// After `[`: `]` for every element, or digits and `]` for one index.
    fn bracket(&mut self) -> Result<PathStep, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.src[start..self.pos];
        if self.peek() != Some(']') {
            return Err(format!(
                "expected digits or ']' at byte {}, as in a[0] or a[]",
                self.pos
            ));
        }
        self.pos += 1;
        if digits.is_empty() {
            return Ok(PathStep::EachElement);
        }
        digits
            .parse()
            .map(PathStep::Index)
            .map_err(|_| format!("array index {digits} is too large"))
    }
}

fn is_bare_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    if !key.is_empty() && key.chars().all(is_bare_key_char) {
        f.write_str(key)
    } else {
        // Parsing rejects '"' and '\' inside quoted keys, so quoting is enough.
        write!(f, "\"{key}\"")
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key(f, &self.head)?;
        for step in &self.rest {
            match step {
                PathStep::Key(key) => {
                    f.write_str(".")?;
                    write_key(f, key)?;
                }
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::EachElement => f.write_str("[]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for JsonPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JsonPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// Every value the path reaches in `payload`, in document order.
///
/// `[]` steps fan out over array elements; key and index steps that do not
/// fit the value found (a key on an array, an index past the end) reach
/// nothing. An array at the end of the path is one value.
pub fn values_at<'a>(payload: &'a Payload, path: &JsonPath) -> Vec<&'a Value> {
    let mut found = Vec::new();
    if let Some(value) = payload.get(&path.head) {
        collect(value, &path.rest, &mut found);
    }
    found
}

fn collect<'a>(value: &'a Value, steps: &[PathStep], found: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        found.push(value);
        return;
    };
    match (step, value) {
        (PathStep::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get(key) {
                collect(child, rest, found);
            }
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get(*i) {
                collect(child, rest, found);
            }
        }
        (PathStep::EachElement, Value::Array(items)) => {
            for child in items {
                collect(child, rest, found);
            }
        }
        _ => {}
    }
}

/// Merges `source` into `dest` the way set_payload does: every key of
/// `source` overwrites the one in `dest`, except that a `null` in `source`
/// deletes the key (Qdrant's behaviour, so set_payload can unset fields).
pub fn merge(dest: &mut Payload, source: &Payload) {
    for (key, value) in source {
        if value.is_null() {
            dest.shift_remove(key);
        } else {
            dest.insert(key.clone(), value.clone());
        }
    }
}

/// set_payload with a `key`: merges `source` (see [`merge`]) into the object
/// at `path`.
///
/// Missing keys on the way are created as objects, and a non-object found
/// where a key step or the end of the path needs an object is replaced by
/// one. Array steps follow Qdrant: an index past the end changes nothing, and
/// a non-array where an array step expects one is replaced by an empty array
/// (so nothing is merged there).
pub fn set_at(payload: &mut Payload, path: &JsonPath, source: &Payload) {
    let slot = payload.entry(path.head.clone()).or_insert(Value::Null);
    set_in(slot, &path.rest, source);
}

fn set_in(dest: &mut Value, steps: &[PathStep], source: &Payload) {
    match steps.split_first() {
        None => with_object(dest, |map| merge(map, source)),
        Some((PathStep::Key(key), rest)) => with_object(dest, |map| {
            let slot = map.entry(key.clone()).or_insert(Value::Null);
            set_in(slot, rest, source);
        }),
        Some((PathStep::Index(i), rest)) => match dest {
            Value::Array(items) => {
                if let Some(child) = items.get_mut(*i) {
                    set_in(child, rest, source);
                }
            }
            other => *other = Value::Array(Vec::new()),
        },
        Some((PathStep::EachElement, rest)) => match dest {
            Value::Array(items) => {
                for child in items {
                    set_in(child, rest, source);
                }
            }
            other => *other = Value::Array(Vec::new()),
        },
    }
}

/// Runs `edit` on the object in `dest`, first replacing a non-object with an
/// empty object.
fn with_object(dest: &mut Value, edit: impl FnOnce(&mut Map<String, Value>)) {
    match dest {
        Value::Object(map) => edit(map),
        other => {
            let mut map = Map::new();
            edit(&mut map);
            *other = Value::Object(map);
        }
    }
}

/// delete_payload with a path: removes what `path` points at and returns the
/// removed values.
///
/// A final key is removed from its object and a final `[]` empties its array.
/// A final index removes nothing: removing an array element shifts the
/// others, so replaying the deletion would remove a different element
/// (Qdrant refuses it for the same reason).
pub fn remove_at(payload: &mut Payload, path: &JsonPath) -> Vec<Value> {
    let mut removed = Vec::new();
    match path.rest.split_last() {
        None => removed.extend(payload.shift_remove(&path.head)),
        Some((last, middle)) => {
            if let Some(value) = payload.get_mut(&path.head) {
                remove_in(value, middle, last, &mut removed);
            }
        }
    }
    removed
}

fn remove_in(value: &mut Value, middle: &[PathStep], last: &PathStep, removed: &mut Vec<Value>) {
    let Some((step, rest)) = middle.split_first() else {
        match (last, value) {
            (PathStep::Key(key), Value::Object(map)) => removed.extend(map.shift_remove(key)),
            (PathStep::EachElement, Value::Array(items)) => {
                removed.push(Value::Array(std::mem::take(items)));
            }
            _ => {}
        }
        return;
    };
    match (step, value) {
        (PathStep::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get_mut(key) {
                remove_in(child, rest, last, removed);
            }
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get_mut(*i) {
                remove_in(child, rest, last, removed);
            }
        }
        (PathStep::EachElement, Value::Array(items)) => {
            for child in items {
                remove_in(child, rest, last, removed);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(s: &str) -> JsonPath {
        s.parse().expect("test path parses")
    }

    fn payload(value: Value) -> Payload {
        match value {
            Value::Object(map) => map,
            other => panic!("test payload must be an object, got {other}"),
        }
    }

    #[test]
    fn parses_keys_indexes_and_wildcards() {
        let p = path(r#"foo[1][50].bar-baz[]."qux[.]quux".été_2"#);
        assert_eq!(p.head(), "foo");
        assert_eq!(
            p.steps(),
            &[
                PathStep::Index(1),
                PathStep::Index(50),
                PathStep::Key("bar-baz".into()),
                PathStep::EachElement,
                PathStep::Key("qux[.]quux".into()),
                PathStep::Key("été_2".into()),
            ]
        );
        assert_eq!(path(r#""a.b""#).head(), "a.b");
        assert_eq!(path(r#""""#).head(), "");
    }

    #[test]
    fn rejects_malformed_paths_with_a_reason() {
        let cases = [
            ("", "expected a key at byte 0, found the end"),
            ("a.", "expected a key at byte 2, found the end"),
            ("a..b", "expected a key at byte 2, found '.'"),
            (".a", "expected a key at byte 0, found '.'"),
            ("a b", "unexpected ' ' at byte 1"),
            ("a[", "expected digits or ']' at byte 2"),
            ("a[x]", "expected digits or ']' at byte 2"),
            ("a[-1]", "expected digits or ']' at byte 2"),
            (
                "a[99999999999999999999999]",
                "array index 99999999999999999999999 is too large",
            ),
            (r#""abc"#, "the quote at byte 0 is never closed"),
            (r#""a\"b""#, "backslash at byte 2"),
            ("a.b c", "unexpected ' ' at byte 3"),
            ("$.a", "found '$'"),
            ("a]", "unexpected ']' at byte 1"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<JsonPath>().expect_err(text).to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(err.starts_with("invalid key path"), "{err}");
        }
    }

    #[test]
    fn display_round_trips_and_quotes_only_when_needed() {
        for text in [
            "a",
            "a.b",
            "a[]",
            "a[0].b[]",
            r#""a.b".c"#,
            r#"a."with space"[3]"#,
            r#""""#,
            "ключ.b",
        ] {
            let p = path(text);
            assert_eq!(p.to_string(), text);
            assert_eq!(path(&p.to_string()), p);
        }
        // Needless quotes are dropped.
        assert_eq!(path(r#""a"."b""#).to_string(), "a.b");
    }

    #[test]
    fn serde_uses_the_string_form() {
        let p = path(r#"a[].b."c d""#);
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json, json!(r#"a[].b."c d""#));
        assert_eq!(serde_json::from_value::<JsonPath>(json).expect("parses"), p);
        let err = serde_json::from_value::<JsonPath>(json!("a..b")).expect_err("bad path");
        assert!(err.to_string().contains("invalid key path"), "{err}");
    }

    #[test]
    fn values_follow_qdrant_navigation() {
        let p = payload(json!({
            "a": {"b": [{"c": 1}, {"c": 2}, {"d": {"e": 3}}]},
            "g": ["g0", "g1", "g2"],
            "arr": [{"a": [1, 2, 3]}, {"a": 4}, {"b": 5}],
            "n": null,
        }));
        let got = |s: &str| {
            values_at(&p, &path(s))
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(got("a.b[].c"), vec![json!(1), json!(2)]);
        assert_eq!(got("a.b[2].d.e"), vec![json!(3)]);
        assert_eq!(got("a.b[3]"), Vec::<Value>::new());
        assert_eq!(got("g[2]"), vec![json!("g2")]);
        assert_eq!(got("g"), vec![json!(["g0", "g1", "g2"])]);
        assert_eq!(got("g[]"), vec![json!("g0"), json!("g1"), json!("g2")]);
        // An array at the end stays one value; [] flattens it.
        assert_eq!(got("arr[].a"), vec![json!([1, 2, 3]), json!(4)]);
        assert_eq!(got("arr[].a[]"), vec![json!(1), json!(2), json!(3)]);
        // No implicit flattening: a key step on an array reaches nothing.
        assert_eq!(got("a.b.c"), Vec::<Value>::new());
        assert_eq!(got("missing.x"), Vec::<Value>::new());
        assert_eq!(got("n"), vec![Value::Null]);
        assert_eq!(got("g.x"), Vec::<Value>::new());
    }

    #[test]
    fn set_at_merges_and_creates_objects() {
        let mut p = payload(json!({"a": {"keep": 1, "drop": 2}, "s": "text"}));
        set_at(
            &mut p,
            &path("a"),
            &payload(json!({"new": true, "drop": null})),
        );
        assert_eq!(
            Value::Object(p.clone()),
            json!({"a": {"keep": 1, "new": true}, "s": "text"})
        );

        set_at(&mut p, &path("x.y.z"), &payload(json!({"k": 1})));
        assert_eq!(p["x"], json!({"y": {"z": {"k": 1}}}));

        // A scalar where an object is needed is replaced by one.
        set_at(&mut p, &path("s.t"), &payload(json!({"k": 2})));
        assert_eq!(p["s"], json!({"t": {"k": 2}}));
    }

    #[test]
    fn set_at_through_arrays() {
        let mut p = payload(json!({"arr": [{"a": 1}, {"a": 2}, 7], "one": 5}));
        set_at(&mut p, &path("arr[]"), &payload(json!({"b": 0})));
        assert_eq!(
            p["arr"],
            json!([{"a": 1, "b": 0}, {"a": 2, "b": 0}, {"b": 0}])
        );

        set_at(&mut p, &path("arr[1]"), &payload(json!({"c": 1})));
        assert_eq!(p["arr"][1], json!({"a": 2, "b": 0, "c": 1}));

        // Past the end: nothing happens.
        set_at(&mut p, &path("arr[9]"), &payload(json!({"c": 1})));
        assert_eq!(p["arr"].as_array().map(Vec::len), Some(3));

        // A non-array under an array step becomes an empty array (as in Qdrant).
        set_at(&mut p, &path("one[0]"), &payload(json!({"c": 1})));
        assert_eq!(p["one"], json!([]));
    }

    #[test]
    fn merge_without_path_deletes_nulls_and_keeps_order() {
        let mut p = payload(json!({"a": 1, "b": 2, "c": 3}));
        merge(&mut p, &payload(json!({"b": null, "d": 4, "a": 5})));
        assert_eq!(
            serde_json::to_string(&p).expect("serializes"),
            r#"{"a":5,"c":3,"d":4}"#
        );
    }

    #[test]
    fn remove_at_follows_qdrant() {
        let mut p = payload(json!({
            "a": {"b": 1, "c": 2},
            "arr": [{"x": 1, "y": 2}, {"x": 3}],
            "list": [1, 2, 3],
            "top": true,
        }));
        assert_eq!(remove_at(&mut p, &path("a.b")), vec![json!(1)]);
        assert_eq!(p["a"], json!({"c": 2}));

        assert_eq!(
            remove_at(&mut p, &path("arr[].x")),
            vec![json!(1), json!(3)]
        );
        assert_eq!(p["arr"], json!([{"y": 2}, {}]));

        // Removing an index is not supported: nothing changes.
        assert_eq!(remove_at(&mut p, &path("list[0]")), Vec::<Value>::new());
        assert_eq!(p["list"], json!([1, 2, 3]));

        assert_eq!(remove_at(&mut p, &path("list[]")), vec![json!([1, 2, 3])]);
        assert_eq!(p["list"], json!([]));

        assert_eq!(remove_at(&mut p, &path("top")), vec![json!(true)]);
        assert!(!p.contains_key("top"));
        assert_eq!(
            remove_at(&mut p, &path("missing.deep")),
            Vec::<Value>::new()
        );
    }
}
