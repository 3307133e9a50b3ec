//! Tests for the filter module as a whole: parsing and its error messages,
//! and serde round trips (JSON and MessagePack). Path and datetime tests
//! live beside their code.

use serde_json::Value;

use super::Filter;

mod errors;
mod parsing;

fn filter(json: Value) -> Filter {
    match serde_json::from_value(json.clone()) {
        Ok(filter) => filter,
        Err(e) => panic!("test filter {json} does not parse: {e}"),
    }
}
