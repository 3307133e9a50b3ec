//! Evaluation semantics, case by case against Qdrant's documentation and
//! behaviour (the examples are the ones in Qdrant's filtering guide).

use serde_json::json;
use uuid::Uuid;

use super::{accepts, filter, matching, point, TestPoint};
use crate::segment::filter::check::slice_hash;
use crate::segment::point_id::PointId;

fn cities() -> Vec<TestPoint> {
    [
        (1, "London", "green"),
        (2, "London", "red"),
        (3, "London", "blue"),
        (4, "Berlin", "red"),
        (5, "Moscow", "green"),
        (6, "Moscow", "blue"),
    ]
    .into_iter()
    .map(|(id, city, color)| point(id, json!({"city": city, "color": color})))
    .collect()
}

fn city(name: &str) -> serde_json::Value {
    json!({"key": "city", "match": {"value": name}})
}

fn color(name: &str) -> serde_json::Value {
    json!({"key": "color", "match": {"value": name}})
}

#[test]
fn clauses_follow_the_filtering_guide() {
    let points = cities();
    let must = json!({"must": [city("London"), color("red")]});
    assert_eq!(matching(must, &points), [2]);

    let should = json!({"should": [city("London"), color("red")]});
    assert_eq!(matching(should, &points), [1, 2, 3, 4]);

    let must_not = json!({"must_not": [city("London"), color("red")]});
    assert_eq!(matching(must_not, &points), [5, 6]);

    let combined = json!({"must": [city("London")], "must_not": [color("red")]});
    assert_eq!(matching(combined, &points), [1, 3]);

    let nested_clauses = json!({"must_not": [{"must": [city("London"), color("red")]}]});
    assert_eq!(matching(nested_clauses, &points), [1, 3, 4, 5, 6]);

    // A single condition works like a one-element array.
    assert_eq!(matching(json!({"must": city("Berlin")}), &points), [4]);
}

#[test]
fn empty_and_absent_clauses() {
    let points = cities();
    let all = [1, 2, 3, 4, 5, 6];
    assert_eq!(matching(json!({}), &points), all);
    assert_eq!(matching(json!({"must": [], "must_not": []}), &points), all);
    assert_eq!(matching(json!({"should": null}), &points), all);
    // Qdrant: an empty `should` is "any of nothing", which is false.
    assert_eq!(matching(json!({"should": []}), &points), Vec::<u64>::new());
    // An empty filter used as a condition is true.
    assert_eq!(matching(json!({"must": [{}]}), &points), all);
}

#[test]
fn min_should_counts_conditions() {
    let points = cities();
    let two_of = json!({"min_should": {
        "conditions": [city("London"), color("red"), color("blue")],
        "min_count": 2
    }});
    assert_eq!(matching(two_of, &points), [2, 3]);

    let one_of =
        json!({"min_should": {"conditions": [city("Berlin"), color("green")], "min_count": 1}});
    assert_eq!(matching(one_of, &points), [1, 4, 5]);

    let too_many = json!({"min_should": {"conditions": [city("London")], "min_count": 2}});
    assert_eq!(matching(too_many, &points), Vec::<u64>::new());

    let nothing = json!({"min_should": {"conditions": [], "min_count": 1}});
    assert_eq!(matching(nothing, &points), Vec::<u64>::new());

    // Combined with the other clauses by AND.
    let combined = json!({
        "must": [city("London")],
        "min_should": {"conditions": [color("red"), color("green")], "min_count": 1}
    });
    assert_eq!(matching(combined, &points), [1, 2]);
}

#[test]
fn match_value_by_type() {
    let p = json!({"s": "red", "i": 10, "f": 10.0, "b": true, "big": u64::MAX, "neg": -3});
    assert!(accepts(
        json!({"must": {"key": "s", "match": {"value": "red"}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "s", "match": {"value": "Red"}}}),
        p.clone()
    ));
    assert!(accepts(
        json!({"must": {"key": "i", "match": {"value": 10}}}),
        p.clone()
    ));
    assert!(accepts(
        json!({"must": {"key": "neg", "match": {"value": -3}}}),
        p.clone()
    ));
    assert!(accepts(
        json!({"must": {"key": "b", "match": {"value": true}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "b", "match": {"value": false}}}),
        p.clone()
    ));
    // Types never cross: a float payload is not the integer 10, "10" is not 10.
    assert!(!accepts(
        json!({"must": {"key": "f", "match": {"value": 10}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "i", "match": {"value": "10"}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "b", "match": {"value": 1}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "big", "match": {"value": -1}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "missing", "match": {"value": 10}}}),
        p
    ));
}

#[test]
fn match_looks_into_arrays_one_level() {
    let p = json!({"tags": ["a", "b"], "deep": [["a"]], "nums": [1, 2, 3]});
    assert!(accepts(
        json!({"must": {"key": "tags", "match": {"value": "b"}}}),
        p.clone()
    ));
    assert!(accepts(
        json!({"must": {"key": "nums", "match": {"value": 3}}}),
        p.clone()
    ));
    assert!(!accepts(
        json!({"must": {"key": "deep", "match": {"value": "a"}}}),
        p.clone()
    ));
    assert!(accepts(
        json!({"must": {"key": "deep[]", "match": {"value": "a"}}}),
        p
    ));
}

#[test]
fn match_any() {
    let f = json!({"must": {"key": "color", "match": {"any": ["black", "yellow"]}}});
    assert!(accepts(f.clone(), json!({"color": "black"})));
    assert!(accepts(f.clone(), json!({"color": ["black", "green"]})));
    assert!(!accepts(f.clone(), json!({"color": "green"})));
    assert!(!accepts(f.clone(), json!({})));
    let ints = json!({"must": {"key": "n", "match": {"any": [1, 2]}}});
    assert!(accepts(ints.clone(), json!({"n": [5, 2]})));
    assert!(!accepts(ints.clone(), json!({"n": 2.0})));
    assert!(!accepts(ints, json!({"n": "1"})));
    assert!(!accepts(
        json!({"must": {"key": "n", "match": {"any": []}}}),
        json!({"n": "x"})
    ));
}

#[test]
fn match_except() {
    let f = json!({"must": {"key": "color", "match": {"except": ["black", "yellow"]}}});
    assert!(accepts(f.clone(), json!({"color": "green"})));
    assert!(!accepts(f.clone(), json!({"color": "black"})));
    // An array needs one element outside the list.
    assert!(accepts(f.clone(), json!({"color": ["black", "green"]})));
    assert!(!accepts(f.clone(), json!({"color": ["black", "yellow"]})));
    // Missing, null and empty arrays have no value outside the list.
    assert!(!accepts(f.clone(), json!({})));
    assert!(!accepts(f.clone(), json!({"color": null})));
    assert!(!accepts(f.clone(), json!({"color": []})));
    assert!(!accepts(f.clone(), json!({"color": ["black", null]})));
    // Values of another type are outside a list of strings.
    assert!(accepts(f.clone(), json!({"color": 5})));
    assert!(accepts(f.clone(), json!({"color": true})));
    assert!(accepts(f, json!({"color": {"r": 1}})));

    let ints = json!({"must": {"key": "n", "match": {"except": [1]}}});
    assert!(!accepts(ints.clone(), json!({"n": 1})));
    assert!(accepts(ints.clone(), json!({"n": 1.5})));
    assert!(accepts(ints.clone(), json!({"n": "1"})));
    assert!(!accepts(ints.clone(), json!({"n": [1, null]})));
    // Everything but null passes an empty except list.
    let none = json!({"must": {"key": "n", "match": {"except": []}}});
    assert!(accepts(none.clone(), json!({"n": "anything"})));
    assert!(!accepts(none, json!({"n": null})));
    // must_not + except is "present and in the list, or absent".
    let not_except = json!({"must_not": {"key": "n", "match": {"except": [1]}}});
    assert!(accepts(not_except.clone(), json!({"n": 1})));
    assert!(accepts(not_except.clone(), json!({})));
    assert!(!accepts(not_except, json!({"n": 2})));
}

#[test]
fn text_phrase_and_prefix() {
    let p = json!({"title": "The quick brown fox", "tags": ["alpha", "beta"], "n": 1});
    let text = |t: &str| json!({"must": {"key": "title", "match": {"text": t}}});
    assert!(accepts(text("quick brown"), p.clone()));
    assert!(!accepts(text("brown quick"), p.clone()));
    assert!(!accepts(text("Quick"), p.clone()));
    assert!(accepts(
        json!({"must": {"key": "title", "match": {"phrase": "brown fox"}}}),
        p.clone()
    ));
    let any = |t: &str| json!({"must": {"key": "title", "match": {"text_any": t}}});
    assert!(accepts(any("cheap fox"), p.clone()));
    assert!(!accepts(any("cheap good"), p.clone()));
    assert!(!accepts(any("  "), p.clone()));
    let prefix = |key: &str, t: &str| json!({"must": {"key": key, "match": {"prefix": t}}});
    assert!(accepts(prefix("title", "The q"), p.clone()));
    assert!(!accepts(prefix("title", "the"), p.clone()));
    assert!(accepts(prefix("tags", "be"), p.clone()));
    assert!(!accepts(prefix("n", "1"), p));
}

#[test]
fn numeric_range() {
    let p = json!({"price": 499.9, "amount": 10, "rating": [3, 7, 9], "label": "10"});
    let range = |key: &str, r: serde_json::Value| json!({"must": {"key": key, "range": r}});
    assert!(accepts(
        range("price", json!({"gte": 100, "lte": 500})),
        p.clone()
    ));
    assert!(accepts(
        range("amount", json!({"gte": 10, "lt": 10.5})),
        p.clone()
    ));
    assert!(!accepts(range("amount", json!({"gt": 10})), p.clone()));
    assert!(accepts(range("amount", json!({"lte": 10.0})), p.clone()));
    assert!(accepts(range("rating", json!({"gt": 8})), p.clone()));
    assert!(!accepts(range("rating", json!({"gt": 9})), p.clone()));
    // A value satisfies all bounds itself: 3 is < 5 and 7 is > 6, neither both.
    assert!(!accepts(
        range("rating", json!({"lt": 5, "gt": 6})),
        p.clone()
    ));
    assert!(!accepts(range("label", json!({"gte": 0})), p.clone()));
    assert!(!accepts(range("missing", json!({"gte": 0})), p.clone()));
    // No bounds: any number.
    assert!(accepts(range("amount", json!({})), p.clone()));
    assert!(!accepts(range("label", json!({})), p.clone()));
    // Integers beyond f64 precision still compare as f64, as in Qdrant.
    assert!(accepts(
        range("big", json!({"gte": 9.007199254740992e15})),
        json!({"big": 9007199254740993u64})
    ));
}

#[test]
fn datetime_range() {
    let p = json!({
        "shipped_at": "2020-02-15T00:00:00Z",
        "local": "2020-02-15 10:00:00",
        "dates": ["2019-01-01", "2021-06-01T12:00:00+02:00"],
        "word": "soon",
        "number": 1581724800
    });
    let range = |key: &str, r: serde_json::Value| json!({"must": {"key": key, "range": r}});
    let february = json!({"gte": "2020-02-01T00:00:00Z", "lt": "2020-03-01T00:00:00Z"});
    let march = json!({"gte": "2020-03-01T00:00:00Z", "lt": "2020-04-01"});
    assert!(accepts(range("shipped_at", february.clone()), p.clone()));
    assert!(!accepts(range("shipped_at", march), p.clone()));
    // Naive payload values are UTC; bounds with offsets are converted.
    assert!(accepts(
        range("local", json!({"gt": "2020-02-15T10:59:59+01:00"})),
        p.clone()
    ));
    assert!(!accepts(
        range("local", json!({"gt": "2020-02-15T11:00:00+01:00"})),
        p.clone()
    ));
    assert!(accepts(
        range("local", json!({"gte": "2020-02-15 10:00"})),
        p.clone()
    ));
    assert!(accepts(
        range("dates", json!({"gte": "2021-06-01T10:00:00Z"})),
        p.clone()
    ));
    assert!(!accepts(
        range("dates", json!({"gt": "2021-06-01T10:00:00Z"})),
        p.clone()
    ));
    // Strings that are not datetimes, and numbers, are not in a datetime range.
    assert!(!accepts(range("word", february.clone()), p.clone()));
    assert!(!accepts(range("number", json!({"gte": "1970-01-01"})), p));
}

#[test]
fn values_count() {
    let count = |r: serde_json::Value| json!({"must": {"key": "comments", "values_count": r}});
    let points = vec![
        point(1, json!({"comments": ["Very good!", "Excellent"]})),
        point(2, json!({"comments": ["meh", "expected more", "ok"]})),
        point(3, json!({"comments": "single"})),
        point(4, json!({"comments": null})),
        point(5, json!({"comments": []})),
        point(6, json!({})),
    ];
    assert_eq!(matching(count(json!({"gt": 2})), &points), [2]);
    assert_eq!(matching(count(json!({"gte": 1, "lte": 1})), &points), [3]);
    // null, [] and a missing key all count 0.
    assert_eq!(matching(count(json!({"lt": 1})), &points), [4, 5, 6]);
    assert_eq!(matching(count(json!({})), &points), [1, 2, 3, 4, 5, 6]);

    // Several values at a path are counted one by one, not summed.
    let multi = json!({"nested": [{"field": [1]}, {"field": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}]});
    let per_value = |r| json!({"must": {"key": "nested[].field", "values_count": r}});
    assert!(!accepts(
        per_value(json!({"gt": 2, "lt": 9})),
        multi.clone()
    ));
    assert!(accepts(per_value(json!({"gte": 10})), multi.clone()));
    assert!(!accepts(per_value(json!({"gte": 11})), multi));
}

#[test]
fn is_empty_and_is_null() {
    let p = json!({
        "null": null, "empty": [], "null_in_array": [null], "mixed": [null, 1],
        "zero": 0, "blank": "", "object": {},
        "a": [{"b": 1}, {"b": null}, {"c": 2}], "all_null": [{"b": null}, {"b": []}]
    });
    let is_empty = |key: &str| json!({"must": {"is_empty": {"key": key}}});
    let is_null = |key: &str| json!({"must": {"is_null": {"key": key}}});
    for (key, empty, null) in [
        ("missing", true, false),
        ("null", true, true),
        ("empty", true, false),
        ("null_in_array", false, true),
        ("mixed", false, true),
        ("zero", false, false),
        ("blank", false, false),
        ("object", false, false),
        ("a[].b", false, true),
        ("a[].c", false, false),
        ("a[].d", true, false),
        ("all_null[].b", true, true),
    ] {
        assert_eq!(accepts(is_empty(key), p.clone()), empty, "is_empty {key}");
        assert_eq!(accepts(is_null(key), p.clone()), null, "is_null {key}");
        // The field form is the same test, and `false` negates it.
        let field = |name: &str, flag: bool| json!({"must": {"key": key, name: flag}});
        assert_eq!(
            accepts(field("is_empty", true), p.clone()),
            empty,
            "{key} is_empty: true"
        );
        assert_eq!(
            accepts(field("is_empty", false), p.clone()),
            !empty,
            "{key} is_empty: false"
        );
        assert_eq!(
            accepts(field("is_null", true), p.clone()),
            null,
            "{key} is_null: true"
        );
        assert_eq!(
            accepts(field("is_null", false), p.clone()),
            !null,
            "{key} is_null: false"
        );
    }
}

#[test]
fn nested_keys_and_arrays() {
    let points = vec![
        point(
            1,
            json!({"country": {"name": "Germany", "cities": [
                {"name": "Berlin", "population": 3.7, "sightseeing": ["Brandenburg Gate", "Reichstag"]},
                {"name": "Munich", "population": 1.5, "sightseeing": ["Marienplatz", "Olympiapark"]}
            ]}}),
        ),
        point(
            2,
            json!({"country": {"name": "Japan", "cities": [
                {"name": "Tokyo", "population": 9.3, "sightseeing": ["Tokyo Tower", "Tokyo Skytree"]},
                {"name": "Osaka", "population": 2.7, "sightseeing": ["Osaka Castle", "Universal Studios Japan"]}
            ]}}),
        ),
    ];
    let f = |key: &str, predicate: serde_json::Value| {
        let mut condition = predicate;
        condition["key"] = json!(key);
        json!({"should": [condition]})
    };
    assert_eq!(
        matching(
            f("country.name", json!({"match": {"value": "Germany"}})),
            &points
        ),
        [1]
    );
    let populous = f(
        "country.cities[].population",
        json!({"range": {"gte": 9.0}}),
    );
    assert_eq!(matching(populous, &points), [2]);
    let castle = f(
        "country.cities[].sightseeing",
        json!({"match": {"value": "Osaka Castle"}}),
    );
    assert_eq!(matching(castle, &points), [2]);
    let first_city = f(
        "country.cities[0].name",
        json!({"match": {"value": "Osaka"}}),
    );
    assert_eq!(matching(first_city, &points), Vec::<u64>::new());
    // Without [] a key step does not enter the array.
    let no_brackets = f("country.cities.name", json!({"match": {"value": "Berlin"}}));
    assert_eq!(matching(no_brackets, &points), Vec::<u64>::new());
}

#[test]
fn nested_object_filter_checks_elements_one_at_a_time() {
    let points = vec![
        point(
            1,
            json!({"dinosaur": "t-rex", "diet": [
                {"food": "leaves", "likes": false}, {"food": "meat", "likes": true}
            ]}),
        ),
        point(
            2,
            json!({"dinosaur": "diplodocus", "diet": [
                {"food": "leaves", "likes": true}, {"food": "meat", "likes": false}
            ]}),
        ),
        point(
            3,
            json!({"dinosaur": "lonely", "diet": {"food": "meat", "likes": true}}),
        ),
    ];
    let flat = json!({"must": [
        {"key": "diet[].food", "match": {"value": "meat"}},
        {"key": "diet[].likes", "match": {"value": true}}
    ]});
    assert_eq!(matching(flat, &points), [1, 2]);

    let inner = json!({"must": [
        {"key": "food", "match": {"value": "meat"}},
        {"key": "likes", "match": {"value": true}}
    ]});
    for key in ["diet", "diet[]"] {
        let nested = json!({"must": [{"nested": {"key": key, "filter": inner}}]});
        // Point 3's diet is an object, not an array of objects.
        assert_eq!(matching(nested, &points), [1], "key {key}");
    }

    // must_not inside nested applies per element.
    let no_meat = json!({"must": {"nested": {"key": "diet", "filter": {
        "must_not": {"key": "food", "match": {"value": "meat"}}
    }}}});
    assert_eq!(matching(no_meat, &points), [1, 2]);

    // Nested filters nest, and non-object elements are skipped.
    let deep = point(4, json!({"a": [5, {"b": [{"c": 1}, {"c": 2}]}]}));
    let two_levels = json!({"must": {"nested": {"key": "a", "filter": {
        "must": {"nested": {"key": "b", "filter": {"must": {"key": "c", "match": {"value": 2}}}}}
    }}}});
    assert_eq!(matching(two_levels, &[deep]), [4]);
}

#[test]
fn has_id_and_has_vector() {
    let uuid = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").expect("valid uuid");
    let mut points = cities();
    points.push(TestPoint {
        id: PointId::Uuid(uuid),
        payload: Default::default(),
        vectors: vec!["image", ""],
    });
    points[0].vectors = vec!["text"];
    let ids = json!({"must": {"has_id": [1, 3, 5, "550E8400-E29B-41D4-A716-446655440000"]}});
    assert_eq!(matching(ids, &points), [1, 3, 5, u64::MAX]);
    let not_ids = json!({"must_not": {"has_id": [1, 3, 5]}});
    assert_eq!(matching(not_ids, &points), [2, 4, 6, u64::MAX]);
    assert_eq!(
        matching(json!({"must": {"has_id": []}}), &points),
        Vec::<u64>::new()
    );

    assert_eq!(
        matching(json!({"must": {"has_vector": "image"}}), &points),
        [u64::MAX]
    );
    assert_eq!(
        matching(json!({"must": {"has_vector": ""}}), &points),
        [u64::MAX]
    );
    assert_eq!(
        matching(json!({"must": {"has_vector": "text"}}), &points),
        [1]
    );
}

#[test]
fn slice_hash_is_siphash_2_4_with_a_zero_key() {
    // Check std's SipHasher against the reference vectors of the SipHash
    // paper (key 00..0f), then pin the zero-key hashes that define slices.
    #[allow(deprecated)]
    let reference = |message: &[u8]| {
        use std::hash::Hasher as _;
        let mut h = std::hash::SipHasher::new_with_keys(0x0706050403020100, 0x0f0e0d0c0b0a0908);
        h.write(message);
        h.finish()
    };
    assert_eq!(reference(&[]), 0x726fdb47dd0e0e31);
    assert_eq!(reference(&[0]), 0x74f839c593dc67fd);
    assert_eq!(reference(&(0..15).collect::<Vec<u8>>()), 0xa129ca6149be45e5);

    assert_eq!(slice_hash(PointId::Num(0)), 16738165381834614119);
    assert_eq!(slice_hash(PointId::Num(1)), 9224715256000962398);
    assert_eq!(slice_hash(PointId::Num(42)), 1135563785245924819);
    assert_eq!(slice_hash(PointId::Num(u64::MAX)), 9246102839527854430);
    let uuid = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").expect("valid uuid");
    assert_eq!(slice_hash(PointId::Uuid(uuid)), 17712879580654916868);
}

#[test]
fn slices_partition_the_points() {
    let points: Vec<TestPoint> = (0..200).map(|id| point(id, json!({}))).collect();
    let total = 7;
    let mut seen = vec![0; points.len()];
    for index in 0..total {
        let slice = json!({"must": {"slice": {"total": total, "index": index}}});
        for id in matching(slice, &points) {
            seen[id as usize] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
    // Slice 3 of 8 matches id 42 (hash % 8 == 3), pinned above.
    assert!(
        filter(json!({"must": {"slice": {"total": 8, "index": 3}}})).check(&point(42, json!({})))
    );
    assert_eq!(
        matching(
            json!({"must": {"slice": {"total": 1, "index": 0}}}),
            &points
        )
        .len(),
        200
    );
}

#[test]
fn conditions_that_need_a_point_are_false_inside_nested() {
    // Validation rejects these; evaluation must still be safe if skipped.
    let p = json!({"arr": [{"x": 1}]});
    for condition in [
        json!({"has_id": [1]}),
        json!({"has_vector": ""}),
        json!({"slice": {"total": 1, "index": 0}}),
    ] {
        let f = json!({"must": {"nested": {"key": "arr", "filter": {"must": condition}}}});
        assert!(!accepts(f, p.clone()));
    }
}
