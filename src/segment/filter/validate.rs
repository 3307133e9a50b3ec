//! Semantic checks on a filter that parsing alone does not make.
//!
//! Parsing guarantees shapes (well-formed key paths, one predicate per field
//! condition, bounds of the right types). Validation adds the rules that
//! Qdrant enforces before running a query, plus the invariants the
//! write-ahead log needs:
//!
//! * `min_should.min_count` is at least 1 (Qdrant answers 422 for 0);
//! * `has_id`, `has_vector` and `slice` do not appear inside `nested`, where
//!   conditions see an array element rather than a point (Qdrant documents
//!   `has_id` as unsupported there; the other two are about the point too);
//! * `slice` has `total >= 1` and `index < total`;
//! * numeric range bounds are finite, and a datetime range has a bound
//!   (neither can come from JSON, but a filter built in code could break
//!   them, and such a filter would not read back the same from the log).
//!
//! Filters that can match nothing (`"should": []`, an empty `has_id`, a range
//! with `gt` above `lt`) are valid, as in Qdrant.

use super::condition::{Bounds, Condition, Predicate, Range};
use super::Filter;

impl Filter {
    /// Checks the rules above; the error names the offending part, as in
    /// `filter.must[0].nested.filter.must[1]: has_id is not allowed ...`.
    pub fn validate(&self) -> Result<(), String> {
        filter(self, "filter", false)
    }
}

fn filter(filter: &Filter, at: &str, in_nested: bool) -> Result<(), String> {
    let clauses = [
        ("must", &filter.must),
        ("should", &filter.should),
        ("must_not", &filter.must_not),
    ];
    for (name, clause) in clauses {
        for (i, c) in clause.iter().flatten().enumerate() {
            condition(c, &format!("{at}.{name}[{i}]"), in_nested)?;
        }
    }
    if let Some(min_should) = &filter.min_should {
        if min_should.min_count == 0 {
            return Err(format!("{at}.min_should.min_count: must be at least 1"));
        }
        for (i, c) in min_should.conditions.iter().enumerate() {
            condition(c, &format!("{at}.min_should.conditions[{i}]"), in_nested)?;
        }
    }
    Ok(())
}

fn condition(condition: &Condition, at: &str, in_nested: bool) -> Result<(), String> {
    let about_point = match condition {
        Condition::HasId(_) => Some("has_id"),
        Condition::HasVector(_) => Some("has_vector"),
        Condition::Slice(_) => Some("slice"),
        _ => None,
    };
    if let (true, Some(name)) = (in_nested, about_point) {
        return Err(format!(
            "{at}: {name} is not allowed inside a nested filter, which sees one array element \
             rather than the point; put it in a must clause beside the nested condition"
        ));
    }
    match condition {
        Condition::Field(field) => match &field.predicate {
            Predicate::Range(Range::Number(bounds)) => {
                let all = [
                    ("gt", bounds.gt),
                    ("gte", bounds.gte),
                    ("lt", bounds.lt),
                    ("lte", bounds.lte),
                ];
                match all.iter().find(|(_, b)| b.is_some_and(|x| !x.is_finite())) {
                    Some((name, _)) => Err(format!("{at}.range.{name}: must be a finite number")),
                    None => Ok(()),
                }
            }
            Predicate::Range(Range::Datetime(bounds)) if *bounds == Bounds::default() => Err(
                format!("{at}.range: a datetime range needs at least one bound"),
            ),
            _ => Ok(()),
        },
        Condition::Slice(slice) if slice.total == 0 => {
            Err(format!("{at}.slice.total: must be at least 1"))
        }
        Condition::Slice(slice) if slice.index >= slice.total => Err(format!(
            "{at}.slice.index: {} must be less than total ({})",
            slice.index, slice.total
        )),
        Condition::Nested(nested) => filter(&nested.filter, &format!("{at}.nested.filter"), true),
        Condition::Filter(inner) => filter(inner, at, in_nested),
        Condition::IsEmpty(_)
        | Condition::IsNull(_)
        | Condition::HasId(_)
        | Condition::HasVector(_)
        | Condition::Slice(_) => Ok(()),
    }
}
