//! Full-text search: what a query means, how results are ranked and paged, and how a snippet is cut
//! and highlighted. The same rules on both engines; each engine finds the candidates with its own
//! machinery (SQLite's FTS5, PostgreSQL's tsvector and GIN: `sql/search.rs`, migrations 0009).
//!
//! A query is words and "quoted phrases"; everything else in it (FTS operators, punctuation) is a
//! separator, so no input can reach either engine's query syntax. Matching ignores case and
//! accents; the last word matches as a prefix while the user is still typing it (no space after).
//!
//! Ranking: each engine finds its candidate messages and titles; they are scored here, the same
//! way for both (BM25 over the candidates, [`SearchQuery::scores`]: the engines' own scores read
//! statistics of the whole index, which cost tens of milliseconds for a word in most messages); a
//! conversation's score is its best message's plus its title's (weighted), ties broken by recency. The candidates are the newest [`MESSAGE_WINDOW`] matching messages and
//! [`TITLE_WINDOW`] matching titles: a rare word is ranked over every match, a word in half of a
//! user's two million messages over the newest of them, which keeps every query's cost bounded.

use std::borrow::Cow;
use std::collections::VecDeque;

use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::cursor::{CursorKind, RankCursor};
use crate::error::DbError;
use crate::model::Fragment;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words (counting each word of a phrase) a query may have.
pub const MAX_QUERY_WORDS: usize = 16;
/// How many of the newest matching messages are ranked.
pub const MESSAGE_WINDOW: i64 = 200;
/// How many of the newest documents matching a cut prefix SQLite reads to find the
/// [`MESSAGE_WINDOW`] that hold it as typed (see [`SearchQuery::fts5`]).
pub const CUT_PREFIX_SCAN: i64 = 5_000;
/// How many of the newest matching titles are ranked.
pub const TITLE_WINDOW: i64 = 100;
/// Results per page unless the caller asks for another size.
pub const DEFAULT_PAGE: u32 = 20;
/// The words around the first match a snippet shows, about a line and a half.
const SNIPPET_WORDS: usize = 28;
/// The words a snippet keeps before its first match.
const SNIPPET_LEAD: usize = 6;
/// The longest prefix SQLite's search index has entries of its own for (`prefix = '2 3 4'`,
/// migration 0009).
pub const INDEXED_PREFIX_CHARS: usize = 4;
/// The shortest prefix term honoured: a one-letter prefix would match most of the vocabulary.
const MIN_PREFIX_CHARS: usize = 2;

/// Whether a prefix is longer than SQLite's index has entries for.
fn is_long(word: &str) -> bool {
    word.chars().count() > INDEXED_PREFIX_CHARS
}

/// One part of a query: a word, or a phrase whose words must follow each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A word (folded: lowercase, no accents); `prefix` when it is the word being typed.
    Word { word: String, prefix: bool },
    /// Words in quotes, in order.
    Phrase(Vec<String>),
}

/// A parsed query: every term must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<Term>,
}

/// Lowercases and removes accents, the way both engines' indexes see a word.
pub fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// [`fold`] without a copy for a word that is lowercase ASCII already, as most words of a text
/// are: scoring folds every word of hundreds of candidates per search.
fn fold_cow(word: &str) -> Cow<'_, str> {
    if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(fold(word))
    }
}

/// The folded words of a text, and where each is in it.
fn folded_words(text: &str) -> (Vec<(usize, usize)>, Vec<Cow<'_, str>>) {
    let spans = words(text);
    let folded = spans.iter().map(|&(s, e)| fold_cow(&text[s..e])).collect();
    (spans, folded)
}

/// BM25's term-frequency saturation and length normalisation, at their usual values.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// How much more a match in the title counts than one in a message.
pub const TITLE_WEIGHT: f64 = 2.0;

/// The words of a text, as byte ranges: runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    each_word(text, |s, e| out.push((s, e)));
    out
}

/// Calls `f` with the byte range of each word of `text`, in order, without collecting them
/// (scoring reads every word of hundreds of candidates per search).
fn each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start = None;
    let mut step = |i: usize, in_word: bool| match (in_word, start) {
        (true, None) => start = Some(i),
        (false, Some(s)) => {
            f(s, i);
            start = None;
        }
        _ => {}
    };
    // Most text is ASCII: its words are told byte by byte, with no decoding or table lookup.
    if text.is_ascii() {
        for (i, b) in text.bytes().enumerate() {
            step(i, b.is_ascii_alphanumeric());
        }
    } else {
        for (i, c) in text.char_indices() {
            let in_word =
                if c.is_ascii() { c.is_ascii_alphanumeric() } else { c.is_alphanumeric() || is_combining_mark(c) };
            step(i, in_word);
        }
    }
    step(text.len(), false);
}

/// What scoring needs of one text, read in one pass: how often each term of the query occurs in
/// it (in the query's order) and how many words it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    counts: Vec<u32>,
    words: usize,
}

impl SearchQuery {
    /// Reads what a user typed. `Ok(None)` when it holds no word to look for (empty, or only
    /// punctuation and operators); too long or too many words is [`DbError::Invalid`].
    pub fn parse(input: &str) -> Result<Option<SearchQuery>, DbError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(DbError::Invalid(format!("a search can be at most {MAX_QUERY_CHARS} characters")));
        }
        let mut terms = Vec::new();
        // Outside quotes at even indices, inside at odd ones; an unclosed quote runs to the end.
        for (i, part) in input.split('"').enumerate() {
            let found: Vec<String> = words(part).into_iter().map(|(s, e)| fold(&part[s..e])).collect();
            if i % 2 == 1 {
                match found.len() {
                    0 => {}
                    1 => terms.extend(found.into_iter().map(|word| Term::Word { word, prefix: false })),
                    _ => terms.push(Term::Phrase(found)),
                }
            } else {
                terms.extend(found.into_iter().map(|word| Term::Word { word, prefix: false }));
            }
        }
        let typing = input.ends_with(|c: char| c.is_alphanumeric()) && input.matches('"').count().is_multiple_of(2);
        if typing {
            if let Some(Term::Word { word, prefix }) = terms.last_mut() {
                *prefix = word.chars().count() >= MIN_PREFIX_CHARS;
            }
        }
        let count: usize = terms.iter().map(|t| if let Term::Phrase(w) = t { w.len() } else { 1 }).sum();
        if count > MAX_QUERY_WORDS {
            return Err(DbError::Invalid(format!("a search can have at most {MAX_QUERY_WORDS} words")));
        }
        Ok((!terms.is_empty()).then_some(SearchQuery { terms }))
    }

    /// The query as an FTS5 expression on the `words` column, within `owner`'s documents. Every
    /// word is a quoted string (holding letters and digits only), so nothing is an operator.
    ///
    /// A prefix longer than the index's longest ([`INDEXED_PREFIX_CHARS`]) is cut to it: FTS5
    /// answers a longer one by first merging the lists of every word that starts with it (100 ms
    /// for a word in most of two million messages), the cut one from its own list, lazily. That
    /// finds more than was asked: the statement filters on [`SearchQuery::long_prefix`] and
    /// [`SearchQuery::holds_as_typed`] checks what is left.
    pub fn fts5(&self, owner: Uuid) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| match t {
                Term::Word { word, prefix: false } => format!("\"{word}\""),
                Term::Word { word, prefix: true } if is_long(word) => {
                    format!("\"{}\" *", word.chars().take(INDEXED_PREFIX_CHARS).collect::<String>())
                }
                Term::Word { word, prefix: true } => format!("\"{word}\" *"),
                Term::Phrase(words) => format!("\"{}\"", words.join(" ")),
            })
            .collect();
        format!("owner : \"u{}\" AND words : ({})", owner.simple(), terms.join(" AND "))
    }

    /// The prefix longer than the index's longest, if the query has one (only the last word is
    /// ever a prefix).
    pub fn long_prefix(&self) -> Option<&str> {
        self.long_prefix_at().map(|(_, word)| word)
    }

    /// Whether a text holds every term of the query, from its [`Tally`]: how SQLite's messages
    /// still waiting for the index (migration 0011) are matched, by the same rules as the index.
    pub fn holds_all(&self, tally: &Tally) -> bool {
        tally.counts.iter().all(|&n| n > 0)
    }

    /// Whether a text an engine found through a cut prefix holds a word starting with the prefix
    /// as typed, from its [`Tally`] (true when the query has no long prefix).
    pub fn holds_as_typed(&self, tally: &Tally) -> bool {
        self.long_prefix_at().is_none_or(|(k, _)| tally.counts[k] > 0)
    }

    /// The long prefix and its place among the terms (a [`Tally`] counts in that order).
    fn long_prefix_at(&self) -> Option<(usize, &str)> {
        self.terms.iter().enumerate().find_map(|(k, t)| match t {
            Term::Word { word, prefix: true } if is_long(word) => Some((k, word.as_str())),
            _ => None,
        })
    }

    /// The query as PostgreSQL `to_tsquery` text. Words hold letters and digits only, quoted.
    pub fn tsquery(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| match t {
                Term::Word { word, prefix: false } => format!("'{word}'"),
                Term::Word { word, prefix: true } => format!("'{word}':*"),
                Term::Phrase(words) => {
                    format!("({})", words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" <-> "))
                }
            })
            .collect();
        terms.join(" & ")
    }

    /// What a cursor of this query is bound to: a hash of its terms, so a cursor of one search
    /// cannot page another.
    pub fn scope(&self) -> Uuid {
        let mut hash = Sha256::new();
        for term in &self.terms {
            match term {
                Term::Word { word, prefix } => hash.update(format!("w{}:{word}\0", u8::from(*prefix))),
                Term::Phrase(words) => hash.update(format!("p:{}\0", words.join(" "))),
            }
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    }

    /// Reads a text once for scoring: each term's occurrences (a word, a word starting with a
    /// prefix, or a phrase's words in a row, compared folded) and the text's length in words.
    pub fn tally(&self, text: &str) -> Tally {
        let mut counts = vec![0u32; self.terms.len()];
        let mut words = 0;
        // The words before this one that the longest phrase needs to look back on.
        let back = self.terms.iter().map(|t| if let Term::Phrase(p) = t { p.len() - 1 } else { 0 }).max().unwrap_or(0);
        let mut recent: VecDeque<Cow<'_, str>> = VecDeque::with_capacity(back);
        each_word(text, |s, e| {
            let word = fold_cow(&text[s..e]);
            words += 1;
            for (term, count) in self.terms.iter().zip(counts.iter_mut()) {
                let hit = match term {
                    Term::Word { word: w, prefix: false } => word.as_ref() == w.as_str(),
                    Term::Word { word: w, prefix: true } => word.starts_with(w.as_str()),
                    Term::Phrase(phrase) => {
                        let (last, before) = phrase.split_last().expect("a phrase has two words or more");
                        word.as_ref() == last.as_str()
                            && recent.len() >= before.len()
                            && recent.iter().skip(recent.len() - before.len()).zip(before).all(|(a, b)| a == b)
                    }
                };
                *count += u32::from(hit);
            }
            if back > 0 {
                if recent.len() == back {
                    recent.pop_front();
                }
                recent.push_back(word);
            }
        });
        Tally { counts, words }
    }

    /// The relevance of each tallied text to the query: BM25, with the document frequencies and
    /// the mean length counted over these texts (the candidates an engine found), so it needs no
    /// statistics of the whole index and gives the same order on both engines.
    pub fn bm25(&self, tallies: &[Tally]) -> Vec<f64> {
        let n = tallies.len() as f64;
        let mean = (tallies.iter().map(|t| t.words).sum::<usize>() as f64 / n.max(1.0)).max(1.0);
        let idf: Vec<f64> = (0..self.terms.len())
            .map(|k| {
                let df = tallies.iter().filter(|t| t.counts[k] > 0).count() as f64;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        tallies
            .iter()
            .map(|t| {
                let norm = K1 * (1.0 - B + B * t.words as f64 / mean);
                t.counts
                    .iter()
                    .zip(&idf)
                    .map(|(&tf, idf)| idf * f64::from(tf) * (K1 + 1.0) / (f64::from(tf) + norm))
                    .sum()
            })
            .collect()
    }

    /// [`bm25`](Self::bm25) of texts not tallied yet.
    pub fn scores(&self, texts: &[&str]) -> Vec<f64> {
        let tallies: Vec<Tally> = texts.iter().map(|t| self.tally(t)).collect();
        self.bm25(&tallies)
    }

    /// Which words of `text` the query matches, as a flag per word of [`words`].
    fn matches(&self, folded: &[Cow<'_, str>]) -> Vec<bool> {
        let mut hit = vec![false; folded.len()];
        let same = |word: &str, pattern: &str, prefix: bool| {
            if prefix {
                word.starts_with(pattern)
            } else {
                word == pattern
            }
        };
        for term in &self.terms {
            match term {
                Term::Word { word, prefix } => {
                    for (i, w) in folded.iter().enumerate() {
                        if same(w.as_ref(), word, *prefix) {
                            hit[i] = true;
                        }
                    }
                }
                Term::Phrase(phrase) => {
                    for start in 0..folded.len().saturating_sub(phrase.len() - 1) {
                        if phrase.iter().enumerate().all(|(k, p)| folded[start + k] == *p) {
                            hit[start..start + phrase.len()].iter_mut().for_each(|h| *h = true);
                        }
                    }
                }
            }
        }
        hit
    }

    /// The whole of `text`, its matched words marked (for titles).
    pub fn highlight(&self, text: &str) -> Vec<Fragment> {
        let (spans, folded) = folded_words(text);
        let hit = self.matches(&folded);
        fragments(text, &spans, &hit, 0, spans.len(), false)
    }

    /// A passage of `text` around its first match, about [`SNIPPET_WORDS`] words, its matched words
    /// marked, with "…" where it was cut. Whitespace runs become one space. With no match (the
    /// engine matched what this reading does not, such as a word PostgreSQL's parser split
    /// differently), the start of the text.
    pub fn snippet(&self, text: &str) -> Vec<Fragment> {
        let (spans, folded) = folded_words(text);
        let hit = self.matches(&folded);
        let first = hit.iter().position(|h| *h).unwrap_or(0);
        // The window with the most matched words among those starting a little before a match.
        let best = (0..spans.len())
            .filter(|&i| hit[i])
            .map(|i| {
                let start = i.saturating_sub(SNIPPET_LEAD);
                let count = hit[start..(start + SNIPPET_WORDS).min(spans.len())].iter().filter(|h| **h).count();
                (count, std::cmp::Reverse(start))
            })
            .max()
            .map_or(first.saturating_sub(SNIPPET_LEAD), |(_, std::cmp::Reverse(start))| start);
        let end = (best + SNIPPET_WORDS).min(spans.len());
        fragments(text, &spans, &hit, best, end, true)
    }
}

/// Cuts `text` from word `from` to word `to` into fragments, matched words apart.
fn fragments(text: &str, spans: &[(usize, usize)], hit: &[bool], from: usize, to: usize, cut: bool) -> Vec<Fragment> {
    let mut out: Vec<Fragment> = Vec::new();
    let mut push = |piece: &str, is_hit: bool| {
        let piece = if cut { squeeze(piece) } else { piece.to_string() };
        if piece.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.hit == is_hit => last.text.push_str(&piece),
            _ => out.push(Fragment { text: piece, hit: is_hit }),
        }
    };
    if spans.is_empty() {
        push(text, false);
        return out;
    }
    let start = if from == 0 { 0 } else { spans[from].0 };
    let end = if to >= spans.len() { text.len() } else { spans[to - 1].1 };
    if from > 0 {
        push("…", false);
    }
    let mut at = start;
    for i in from..to {
        let (s, e) = spans[i];
        // Between two matched words (a phrase), a space is part of the match.
        let gap = &text[at..s];
        push(gap, i > from && hit[i - 1] && hit[i] && gap.trim().is_empty());
        push(&text[s..e], hit[i]);
        at = e;
    }
    push(&text[at..end], false);
    if to < spans.len() {
        push("…", false);
    }
    out
}

/// Whitespace runs as one space (a snippet is one line).
fn squeeze(piece: &str) -> String {
    let mut out = String::with_capacity(piece.len());
    let mut space = false;
    for c in piece.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// A match an engine found: a message of a conversation (`message` set) or its title.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub conversation_id: Uuid,
    pub updated_at: i64,
    pub message_id: Option<Uuid>,
    /// The relevance ([`SearchQuery::scores`]), higher is better.
    pub score: f64,
}

/// A conversation's place in the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub conversation_id: Uuid,
    pub message_id: Option<Uuid>,
    /// The score, in millionths (an integer, so a cursor holds it exactly).
    pub rank: i64,
    pub updated_at: i64,
}

impl Ranked {
    fn key(&self) -> (i64, i64, Uuid) {
        (self.rank, self.updated_at, self.conversation_id)
    }

    fn cursor(&self) -> RankCursor {
        RankCursor { rank: self.rank, at: self.updated_at, id: self.conversation_id }
    }
}

/// Groups candidates by conversation (best message, plus the title's score), orders them by score
/// then recency, and returns the page after `after` and the cursor of the next one.
pub fn rank(
    candidates: Vec<Candidate>,
    after: Option<RankCursor>,
    limit: usize,
    scope: Uuid,
) -> (Vec<Ranked>, Option<String>) {
    use std::collections::HashMap;
    /// Per conversation: its best message (score, id), its title's score, its recency.
    type Seen = (Option<(f64, Uuid)>, f64, i64);
    let mut by_conversation: HashMap<Uuid, Seen> = HashMap::new();
    for c in candidates {
        let entry = by_conversation.entry(c.conversation_id).or_insert((None, 0.0, c.updated_at));
        match c.message_id {
            Some(id) => {
                if entry.0.is_none_or(|(best, _)| c.score > best) {
                    entry.0 = Some((c.score, id));
                }
            }
            None => entry.1 = entry.1.max(c.score),
        }
    }
    let mut ranked: Vec<Ranked> = by_conversation
        .into_iter()
        .map(|(conversation_id, (message, title, updated_at))| {
            let score = message.map_or(0.0, |(s, _)| s) + title;
            Ranked {
                conversation_id,
                message_id: message.map(|(_, id)| id),
                rank: (score * 1_000_000.0).round() as i64,
                updated_at,
            }
        })
        .collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.key()));
    if let Some(after) = after {
        let after = (after.rank, after.at, after.id);
        ranked.retain(|r| r.key() < after);
    }
    let next = (ranked.len() > limit).then(|| ranked[limit - 1].cursor().encode(CursorKind::Search, scope));
    ranked.truncate(limit);
    (ranked, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> SearchQuery {
        SearchQuery::parse(text).expect("valid").expect("has words")
    }

    fn marked(fragments: &[Fragment]) -> String {
        fragments.iter().map(|f| if f.hit { format!("[{}]", f.text) } else { f.text.clone() }).collect()
    }

    #[test]
    fn reads_words_phrases_and_the_word_being_typed() {
        assert_eq!(
            q("Café \"new york\" mod").terms,
            vec![
                Term::Word { word: "cafe".into(), prefix: false },
                Term::Phrase(vec!["new".into(), "york".into()]),
                Term::Word { word: "mod".into(), prefix: true },
            ]
        );
        assert_eq!(q("model ").terms, vec![Term::Word { word: "model".into(), prefix: false }]);
        assert_eq!(q("a").terms, vec![Term::Word { word: "a".into(), prefix: false }]);
        // An unclosed quote is a phrase being typed, not a prefix.
        assert_eq!(q("\"new yo").terms, vec![Term::Phrase(vec!["new".into(), "yo".into()])]);
    }

    #[test]
    fn operators_and_punctuation_are_only_separators() {
        let query = q("NEAR(a* OR b) -c ^d: {e}");
        assert!(query
            .fts5(Uuid::nil())
            .ends_with("words : (\"near\" AND \"a\" AND \"or\" AND \"b\" AND \"c\" AND \"d\" AND \"e\")"));
        assert_eq!(SearchQuery::parse("*** () \"\" :").expect("valid"), None);
        assert_eq!(SearchQuery::parse("").expect("valid"), None);
        assert!(matches!(SearchQuery::parse(&"x".repeat(10_000)), Err(DbError::Invalid(_))));
        assert!(matches!(SearchQuery::parse(&"word ".repeat(17)), Err(DbError::Invalid(_))));
        // A one-letter last word is not a prefix.
        assert_eq!(q("o'brien's").tsquery(), "'o' & 'brien' & 's'");
    }

    #[test]
    fn highlights_case_and_accent_blind_and_cuts_a_snippet() {
        let query = q("cafe \"new york\"");
        assert_eq!(marked(&query.highlight("Le Café de New  York")), "Le [Café] de [New  York]");
        let long = format!("{} the Café is here {}", "word ".repeat(40), "tail ".repeat(40));
        let snippet = marked(&query.snippet(&long));
        assert!(snippet.starts_with("…word"), "{snippet}");
        assert!(snippet.contains("the [Café] is here"), "{snippet}");
        assert!(snippet.ends_with("…"), "{snippet}");
        assert!(!snippet.contains("  "));
        // Markup in the text stays text.
        assert_eq!(marked(&q("b").highlight("<b>bold</b>")), "<[b]>bold</[b]>");
    }

    #[test]
    fn scores_favour_more_and_denser_matches() {
        let query = q("heron river ");
        let s = query.scores(&[
            "a heron by the river",
            "heron heron river heron",
            "a long text that mentions a heron and a river once among very many other words here",
            "no match at all",
        ]);
        assert!(s[1] > s[0] && s[0] > s[2] && s[2] > s[3], "{s:?}");
        assert_eq!(s[3], 0.0);
        let phrase = q("\"grey heron\"").scores(&["a grey heron", "a heron, grey"]);
        assert!(phrase[0] > 0.0 && phrase[1] == 0.0, "{phrase:?}");
        let prefix = q("her").scores(&["herons", "the"]);
        assert!(prefix[0] > 0.0 && prefix[1] == 0.0);
    }

    /// The straightforward reading the one-pass tally replaced: every word folded into a list,
    /// then each term counted over the list.
    fn counted_over_every_word(query: &SearchQuery, text: &str) -> (Vec<u32>, usize) {
        let (_, folded) = folded_words(text);
        let counts = query
            .terms
            .iter()
            .map(|term| match term {
                Term::Word { word, prefix: false } => folded.iter().filter(|w| w.as_ref() == word.as_str()).count(),
                Term::Word { word, prefix: true } => folded.iter().filter(|w| w.starts_with(word.as_str())).count(),
                Term::Phrase(phrase) => {
                    folded.windows(phrase.len()).filter(|w| w.iter().zip(phrase).all(|(a, b)| a == b)).count()
                }
            })
            .map(|n| u32::try_from(n).expect("small"))
            .collect();
        (counts, folded.len())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Few letters, accents, case, separators and quotes, so that words, prefixes and phrases
        /// (overlapping ones too) match often: the tally counts what reading every word counts.
        #[test]
        fn a_tally_counts_what_reading_every_word_counts(text in "[abAB\u{e1}\u{c1} ,.\"]{0,60}", input in "[ab\u{e1} \"]{1,16}") {
            if let Ok(Some(query)) = SearchQuery::parse(&input) {
                let tally = query.tally(&text);
                proptest::prop_assert_eq!((tally.counts, tally.words), counted_over_every_word(&query, &text));
            }
        }
    }

    #[test]
    fn a_long_prefix_is_held_as_typed_or_not() {
        let query = q("two latenc");
        assert!(query.holds_as_typed(&query.tally("Latency and more")));
        assert!(!query.holds_as_typed(&query.tally("later, lateral")), "only the cut matches");
        let short = q("two late");
        assert!(short.holds_as_typed(&short.tally("nothing")), "no long prefix: nothing to check");
    }

    #[test]
    fn ranks_by_score_then_recency_and_pages_by_cursor() {
        let id = |n| Uuid::from_u128(n);
        let candidates = vec![
            Candidate { conversation_id: id(1), updated_at: 10, message_id: Some(id(11)), score: 1.0 },
            Candidate { conversation_id: id(1), updated_at: 10, message_id: Some(id(12)), score: 3.0 },
            Candidate { conversation_id: id(2), updated_at: 20, message_id: Some(id(21)), score: 2.0 },
            Candidate { conversation_id: id(3), updated_at: 30, message_id: Some(id(31)), score: 2.0 },
            Candidate { conversation_id: id(4), updated_at: 40, message_id: None, score: 0.5 },
        ];
        let scope = Uuid::from_u128(9);
        let (first, next) = rank(candidates.clone(), None, 2, scope);
        assert_eq!(first.iter().map(|r| r.conversation_id).collect::<Vec<_>>(), vec![id(1), id(3)]);
        assert_eq!(first[0].message_id, Some(id(12)));
        let after = RankCursor::decode(&next.expect("a next page"), CursorKind::Search, scope).expect("issued");
        let (second, last) = rank(candidates, Some(after), 2, scope);
        assert_eq!(second.iter().map(|r| r.conversation_id).collect::<Vec<_>>(), vec![id(2), id(4)]);
        assert_eq!(last, None);
    }
}
