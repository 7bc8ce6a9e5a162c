//! Company-name folding (case, accents, punctuation, legal forms, addresses) and the
//! weighted token similarity of two names.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Legal forms: they say little about who the company is.
const LEGAL: &[&str] = &[
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "ohg",
    "ug",
    "ev",
    "se",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "plc",
    "corp",
    "corporation",
    "co",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "aps",
    "pty",
    "pte",
    "sl",
    "slu",
    "sro",
    "kft",
    "zoo",
    "ek",
];
/// Legal forms that end a company name: what follows on a statement is an address.
const NAME_ENDS: &[&str] = &[
    "gmbh", "ag", "kg", "ug", "ltd", "limited", "inc", "llc", "plc", "corp", "sa", "sas", "sarl",
    "srl", "spa", "bv", "nv", "ek", "oy", "aps", "pty", "kft", "sro",
];
const FILLERS: &[&str] = &["the", "and", "und", "et"];
/// Basis points taken off when both names carry legal forms and they differ.
pub(crate) const OTHER_FORM: u16 = 800;

/// Basis points: identical tokens.
pub const SAME: u16 = 10_000;
/// Basis points: one token abbreviates the other (`eur` for `europe`).
const ABBREVIATION: u16 = 9_300;
/// Token pairs below this similarity count as unrelated.
pub(crate) const TOKEN_FLOOR: u16 = 8_500;

/// A company name folded for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Lower case, no accents or punctuation, dotted abbreviations joined (`S.A.` is `sa`),
    /// without legal forms, fillers, or what follows the legal form.
    pub tokens: Vec<String>,
    /// The legal forms, sorted.
    pub forms: Vec<String>,
}

/// Folds a company name into comparable tokens (see [`Folded`]).
pub fn fold(name: &str) -> Folded {
    let mut raw: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            '\'' | '’' | '`' => {}
            c if c.is_alphanumeric() => push_folded(c, &mut cur),
            _ => flush(&mut cur, &mut raw),
        }
    }
    flush(&mut cur, &mut raw);
    let mut words = merge_initials(raw);
    // Bank statements cut long names: a last word that starts a legal form is one.
    let cut_legal = |t: &String| {
        LEGAL
            .iter()
            .any(|n| n.len() > t.len() && n.starts_with(t.as_str()))
    };
    if words.len() > 1 && words.last().is_some_and(cut_legal) {
        words.pop();
    }
    let is_legal = |t: &String| LEGAL.contains(&t.as_str());
    if let Some(end) = words
        .iter()
        .skip(1)
        .position(|t| NAME_ENDS.contains(&t.as_str()))
    {
        let end = end + 1;
        let tail = words[end..].iter().take_while(|t| is_legal(t)).count();
        words.truncate(end + tail);
    }
    let mut forms: Vec<String> = words.iter().filter(|t| is_legal(t)).cloned().collect();
    forms.sort_unstable();
    forms.dedup();
    let tokens: Vec<String> = words
        .iter()
        .filter(|t| !is_legal(t) && !FILLERS.contains(&t.as_str()))
        .cloned()
        .collect();
    Folded {
        tokens: if tokens.is_empty() { words } else { tokens },
        forms,
    }
}

/// The comparable tokens of a company name (see [`Folded::tokens`]).
pub fn fold_tokens(name: &str) -> Vec<String> {
    fold(name).tokens
}

/// Two names with legal forms that share none: probably two companies.
pub(crate) fn other_form(a: &[String], b: &[String]) -> bool {
    !a.is_empty() && !b.is_empty() && !a.iter().any(|f| b.contains(f))
}

fn push_folded(c: char, cur: &mut String) {
    match c {
        'ß' => cur.push_str("ss"),
        'æ' | 'Æ' => cur.push_str("ae"),
        'œ' | 'Œ' => cur.push_str("oe"),
        'þ' | 'Þ' => cur.push_str("th"),
        'ø' | 'Ø' => cur.push('o'),
        'ł' | 'Ł' => cur.push('l'),
        'đ' | 'Đ' => cur.push('d'),
        _ => cur.extend(c.to_lowercase()),
    }
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

/// `s a` (from `S. A.`) becomes `sa`: runs of single letters are one abbreviation.
fn merge_initials(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut run = String::new();
    for token in tokens {
        if token.chars().count() == 1 {
            run.push_str(&token);
        } else {
            flush(&mut run, &mut out);
            out.push(token);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Turns a similarity in `0.0..=1.0` (as string-metric crates return it) into basis points.
/// The only float in the crate: it scores names, never money.
#[allow(
    clippy::as_conversions,
    clippy::float_arithmetic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a clamped similarity ratio becomes an integer score; no money involved"
)]
pub fn similarity_bp(similarity: f64) -> u16 {
    (similarity.clamp(0.0, 1.0) * 10_000.0).round() as u16
}

/// Similarity of two folded tokens in basis points.
pub fn token_similarity(a: &str, b: &str) -> u16 {
    if a == b {
        return SAME;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() >= 3 && long.starts_with(short) {
        return ABBREVIATION;
    }
    similarity_bp(strsim::jaro_winkler(a, b))
}

/// A token with its discriminating weight (rarer tokens weigh more).
#[derive(Debug, Clone, Copy)]
pub struct Weighted<'a> {
    pub text: &'a str,
    pub weight: u32,
}

/// Weighted token similarity of two names in basis points (see [`score`]).
pub fn name_similarity(query: &[Weighted<'_>], candidate: &[Weighted<'_>]) -> u16 {
    let sims: Vec<u16> = query
        .iter()
        .flat_map(|q| {
            candidate
                .iter()
                .map(|c| floored(token_similarity(q.text, c.text)))
        })
        .collect();
    let wq: Vec<u32> = query.iter().map(|t| t.weight).collect();
    let wc: Vec<u32> = candidate.iter().map(|t| t.weight).collect();
    score(&sims, &wq, &wc)
}

/// Token similarity below the floor counts as no match at all.
pub(crate) fn floored(sim: u16) -> u16 {
    if sim >= TOKEN_FLOOR { sim } else { 0 }
}

/// Name similarity from the token similarity matrix (`sims[q * wc.len() + c]`, floored):
/// each side's tokens are matched to their best counterpart, so missing words cost their
/// weight. Words of the master name missing from the payer name count twice as much as
/// extra payer words: statements add cities and addresses, but a payer rarely drops a
/// word that tells companies apart.
pub(crate) fn score(sims: &[u16], wq: &[u32], wc: &[u32]) -> u16 {
    let (nq, nc) = (wq.len(), wc.len());
    if nq == 0 || nc == 0 || sims.len() != nq * nc {
        return 0;
    }
    let row_best = |q: usize| {
        sims[q * nc..(q + 1) * nc]
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
    };
    let col_best = |c: usize| (0..nq).map(|q| sims[q * nc + c]).max().unwrap_or(0);
    let extra = coverage(wq, row_best);
    let missing = coverage(wc, col_best);
    u16::try_from((u32::from(extra) + 2 * u32::from(missing)) / 3).unwrap_or(0)
}

fn coverage(weights: &[u32], best: impl Fn(usize) -> u16) -> u16 {
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return 0;
    }
    let matched: u32 = weights
        .iter()
        .enumerate()
        .map(|(i, w)| w * u32::from(best(i)))
        .sum();
    u16::try_from(matched / total).unwrap_or(SAME)
}
