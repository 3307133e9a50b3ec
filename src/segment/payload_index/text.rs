//! Full-text index: the `word` tokenizer and an inverted index from token
//! to the offsets whose text holds it.
//!
//! With a text index on a field, `match.text` holds when the value's tokens
//! include every token of the query, and `match.text_any` when they include
//! one (Qdrant's semantics); a query without tokens matches nothing. Both the
//! index lookup and [`Filter::check`](crate::segment::filter::Filter::check)
//! use [`Tokenizer::tokens`], so the indexed and the scanning paths agree.

use std::collections::BTreeSet;

use serde_json::Value;

use super::postings::Postings;
use crate::segment::point_id::PointOffset;

/// The `word` tokenizer: tokens are maximal runs of alphanumeric characters
/// (Unicode), optionally lowercased, kept when their length in characters
/// is within `min_len..=max_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokenizer {
    pub lowercase: bool,
    pub min_len: usize,
    pub max_len: usize,
}

impl Tokenizer {
    pub fn tokens(&self, text: &str) -> BTreeSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(|word| match self.lowercase {
                true => word.to_lowercase(),
                false => word.to_string(),
            })
            .filter(|token| (self.min_len..=self.max_len).contains(&token.chars().count()))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct TextIndex {
    tokenizer: Tokenizer,
    postings: Postings<String>,
}

impl TextIndex {
    pub fn new(tokenizer: Tokenizer) -> TextIndex {
        TextIndex {
            tokenizer,
            postings: Postings::default(),
        }
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn tokens_of(&self, value: &Value) -> BTreeSet<String> {
        value
            .as_str()
            .map(|s| self.tokenizer.tokens(s))
            .unwrap_or_default()
    }

    /// Whether `value` is a string the index holds.
    pub fn accepts(value: &Value) -> bool {
        value.is_string()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        for token in self.tokens_of(value) {
            self.postings.insert(token, offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        for token in self.tokens_of(value) {
            self.postings.remove(&token, offset);
        }
    }

    /// Offsets whose text holds every token of `query`.
    pub fn all_tokens(&self, query: &str) -> BTreeSet<PointOffset> {
        let mut tokens = self.tokenizer.tokens(query).into_iter();
        let Some(first) = tokens.next() else {
            return BTreeSet::new();
        };
        let mut found: BTreeSet<PointOffset> = self.postings.get(&first).collect();
        for token in tokens {
            if found.is_empty() {
                break;
            }
            let next: BTreeSet<PointOffset> = self.postings.get(&token).collect();
            found = found.intersection(&next).copied().collect();
        }
        found
    }

    /// Offsets whose text holds some token of `query`.
    pub fn any_token(&self, query: &str) -> BTreeSet<PointOffset> {
        self.tokenizer
            .tokens(query)
            .iter()
            .flat_map(|t| self.postings.get(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn word() -> Tokenizer {
        Tokenizer {
            lowercase: true,
            min_len: 0,
            max_len: usize::MAX,
        }
    }

    #[test]
    fn word_tokenizer_splits_on_non_alphanumerics_and_lowercases() {
        let tokens = word().tokens("Hello, wörld! it's 2024-01");
        let want: BTreeSet<String> = ["hello", "wörld", "it", "s", "2024", "01"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(tokens, want);
        let short = Tokenizer {
            min_len: 3,
            max_len: 4,
            ..word()
        };
        assert_eq!(short.tokens("a abc abcd abcde").len(), 2);
    }

    #[test]
    fn lookups_need_all_or_any_tokens() {
        let mut index = TextIndex::new(word());
        index.add(PointOffset(0), &json!("The quick brown fox"));
        index.add(PointOffset(1), &json!("quick thinking"));
        index.add(PointOffset(2), &json!(7));
        let all = index.all_tokens("QUICK fox");
        assert_eq!(all, BTreeSet::from([PointOffset(0)]));
        let any = index.any_token("fox thinking");
        assert_eq!(any, BTreeSet::from([PointOffset(0), PointOffset(1)]));
        assert!(index.all_tokens("  ,, ").is_empty());
        index.remove(PointOffset(0), &json!("The quick brown fox"));
        assert!(index.all_tokens("fox").is_empty());
    }
}
