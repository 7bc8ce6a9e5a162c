//! Inverted index of customer names (token → customers, trigram → tokens) that finds and
//! scores similar names without scanning the customer master.

use rustc_hash::FxHashMap;

use crate::names::{
    Folded, OTHER_FORM, SAME, TOKEN_FLOOR, floored, fold, other_form, score, token_similarity,
};

/// Customers scored in full per query.
const SHORTLIST: usize = 24;
/// Vocabulary tokens verified per unknown query token.
const FUZZY_TOKENS: usize = 16;
/// Postings read for the shortlist once the two rarest query tokens are in: common words
/// (`logistik`, `services`) only rank what rarer ones already found.
const POSTING_BUDGET: usize = 4_000;

/// Inverted index of customer names.
#[derive(Debug, Default)]
pub struct NameIndex {
    vocab: FxHashMap<String, u32>,
    tokens: Vec<Token>,
    trigrams: FxHashMap<u64, Vec<u32>>,
    /// Token ids of each customer slot.
    names: Vec<Vec<u32>>,
    /// Legal forms of each customer slot.
    forms: Vec<Vec<String>>,
    named: u32,
}

#[derive(Debug)]
struct Token {
    text: String,
    customers: Vec<u32>,
}

/// A query token and the vocabulary tokens it may stand for.
struct QueryToken {
    text: String,
    weight: u32,
    /// (token id, floored similarity)
    matches: Vec<(u32, u16)>,
}

impl NameIndex {
    /// Sets (or replaces) the name of customer `slot`.
    pub fn set(&mut self, slot: u32, name: &str) {
        let at = idx(slot);
        if self.names.len() <= at {
            self.names.resize_with(at.saturating_add(1), Vec::new);
            self.forms.resize_with(at.saturating_add(1), Vec::new);
        }
        let old = std::mem::take(&mut self.names[at]);
        if !old.is_empty() {
            self.named = self.named.saturating_sub(1);
        }
        for id in old {
            self.tokens[idx(id)].customers.retain(|c| *c != slot);
        }
        let folded = fold(name);
        self.forms[at] = folded.forms;
        let mut ids: Vec<u32> = folded.tokens.into_iter().map(|t| self.intern(t)).collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            self.named = self.named.saturating_add(1);
        }
        for id in &ids {
            self.tokens[idx(*id)].customers.push(slot);
        }
        self.names[at] = ids;
    }

    fn intern(&mut self, text: String) -> u32 {
        if let Some(id) = self.vocab.get(&text) {
            return *id;
        }
        let id = u32::try_from(self.tokens.len()).unwrap_or(u32::MAX);
        for gram in trigrams(&text) {
            self.trigrams.entry(gram).or_default().push(id);
        }
        self.vocab.insert(text.clone(), id);
        self.tokens.push(Token {
            text,
            customers: Vec::new(),
        });
        id
    }

    /// Inverse document frequency as a small integer weight.
    fn weight(&self, customers: usize) -> u32 {
        let n = self.named.saturating_add(1);
        let df = u32::try_from(customers)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        1 + (n / df).max(1).ilog2()
    }

    fn df(&self, id: u32) -> usize {
        self.tokens[idx(id)].customers.len()
    }

    /// Customers whose names resemble `name`, best first: (slot, basis points).
    pub fn search(&self, name: &str) -> Vec<(u32, u16)> {
        let Folded { tokens, forms } = fold(name);
        let query: Vec<QueryToken> = tokens.into_iter().map(|t| self.query_token(t)).collect();
        let wq: Vec<u32> = query.iter().map(|q| q.weight).collect();
        // Similarities of query tokens to vocabulary tokens, computed once per pair.
        let mut cache: FxHashMap<(usize, u32), u16> = FxHashMap::default();
        let mut scored: Vec<(u32, u16)> = self
            .shortlist(&query)
            .into_iter()
            .map(|slot| {
                let ids = self.names.get(idx(slot)).map_or(&[][..], Vec::as_slice);
                let wc: Vec<u32> = ids.iter().map(|id| self.weight(self.df(*id))).collect();
                let sims: Vec<u16> = (0..query.len())
                    .flat_map(|q| ids.iter().map(move |id| (q, *id)))
                    .map(|key| {
                        *cache
                            .entry(key)
                            .or_insert_with(|| self.similarity(&query[key.0], key.1))
                    })
                    .collect();
                let s = score(&sims, &wq, &wc);
                let other = self
                    .forms
                    .get(idx(slot))
                    .is_some_and(|f| other_form(&forms, f));
                (
                    slot,
                    if other {
                        s.saturating_sub(OTHER_FORM)
                    } else {
                        s
                    },
                )
            })
            .collect();
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
    }

    fn similarity(&self, query: &QueryToken, id: u32) -> u16 {
        match query.matches.iter().find(|m| m.0 == id) {
            Some(m) => m.1,
            None => floored(token_similarity(&query.text, &self.tokens[idx(id)].text)),
        }
    }

    /// A query token with its matches and weight: that of the vocabulary token it stands
    /// for, or the highest weight when nothing in the master resembles it.
    fn query_token(&self, text: String) -> QueryToken {
        let matches = self.similar_tokens(&text);
        let best = matches.iter().max_by_key(|m| (m.1, std::cmp::Reverse(m.0)));
        let weight = self.weight(best.map_or(0, |m| self.df(m.0)));
        QueryToken {
            text,
            weight,
            matches,
        }
    }

    /// The vocabulary tokens a query token may stand for, with their similarity.
    fn similar_tokens(&self, query: &str) -> Vec<(u32, u16)> {
        if let Some(id) = self.vocab.get(query) {
            return vec![(*id, SAME)];
        }
        let grams = trigrams(query);
        if grams.len() < 3 {
            return Vec::new();
        }
        let mut shared: FxHashMap<u32, u32> = FxHashMap::default();
        for gram in &grams {
            for id in self.trigrams.get(gram).map_or(&[][..], Vec::as_slice) {
                *shared.entry(*id).or_default() += 1;
            }
        }
        let need = u32::try_from(grams.len() / 2).unwrap_or(u32::MAX).max(2);
        let mut close: Vec<(u32, u32)> = shared.into_iter().filter(|(_, n)| *n >= need).collect();
        close.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        close
            .into_iter()
            .take(FUZZY_TOKENS)
            .map(|(id, _)| (id, token_similarity(query, &self.tokens[idx(id)].text)))
            .filter(|(_, sim)| *sim >= TOKEN_FLOOR)
            .collect()
    }

    /// Customers sharing the most discriminating tokens with the query: rarest tokens
    /// first, common ones only while the posting budget lasts.
    fn shortlist(&self, query: &[QueryToken]) -> Vec<u32> {
        let mut tokens: Vec<u32> = query
            .iter()
            .flat_map(|q| q.matches.iter().map(|m| m.0))
            .collect();
        tokens.sort_by_key(|id| (self.df(*id), *id));
        tokens.dedup();
        let mut votes: FxHashMap<u32, u32> = FxHashMap::default();
        let mut read = 0;
        for (rank, id) in tokens.iter().enumerate() {
            let postings = &self.tokens[idx(*id)].customers;
            if rank >= 2 && read + postings.len() > POSTING_BUDGET {
                break;
            }
            read += postings.len();
            votes.reserve(postings.len());
            let weight = self.weight(postings.len());
            for slot in postings {
                *votes.entry(*slot).or_default() += weight;
            }
        }
        let mut ranked: Vec<(u32, u32)> = votes.into_iter().collect();
        let by_votes = |a: &(u32, u32), b: &(u32, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if ranked.len() > SHORTLIST {
            ranked.select_nth_unstable_by(SHORTLIST, by_votes);
            ranked.truncate(SHORTLIST);
        }
        ranked.sort_by(by_votes);
        ranked.into_iter().map(|(slot, _)| slot).collect()
    }
}

fn idx(id: u32) -> usize {
    usize::try_from(id).unwrap_or(usize::MAX)
}

/// Character trigrams of a token padded with start and end marks, packed into integers.
fn trigrams(token: &str) -> Vec<u64> {
    let chars: Vec<u64> = std::iter::once(1)
        .chain(token.chars().map(|c| u64::from(u32::from(c)) + 2))
        .chain(std::iter::once(1))
        .collect();
    let mut grams: Vec<u64> = chars
        .windows(3)
        .map(|w| (w[0] << 42) | (w[1] << 21) | w[2])
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}
