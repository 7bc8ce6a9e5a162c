//! Bounded exact subset-sum search: which few open invoices add up to the receipt amount.
//! Fewer invoices first; the work is capped so a large customer cannot stall matching.

use rust_decimal::Decimal;

/// Search nodes per receipt: beyond this the answer is "not sure", never a guess.
pub(crate) const NODE_BUDGET: u32 = 20_000;

/// Solutions found (indices into the candidate list), fewest invoices first.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub solutions: Vec<Vec<usize>>,
    /// The budget ran out: more solutions may exist.
    pub exhausted: bool,
}

impl Found {
    /// Exactly one set of invoices sums to the amount, and the search was complete.
    pub fn unique(&self) -> bool {
        self.solutions.len() == 1 && !self.exhausted
    }
}

/// Amounts as integers at one common scale, or `None` when one does not fit.
fn minor_units(amounts: &[Decimal], target: Decimal) -> Option<(Vec<i64>, i64)> {
    let scale = amounts
        .iter()
        .chain(std::iter::once(&target))
        .map(|d| d.scale())
        .max()?;
    let units = |d: &Decimal| {
        let mut d = *d;
        d.rescale(scale);
        (d.scale() == scale)
            .then(|| i64::try_from(d.mantissa()).ok())
            .flatten()
    };
    let values: Option<Vec<i64>> = amounts.iter().map(units).collect();
    Some((values?, units(&target)?))
}

/// Sets of 2..=`max_size` candidates (positive amounts) summing exactly to `target`; stops
/// after `max_solutions`. Candidates come oldest first: ties prefer older invoices.
pub(crate) fn find(
    amounts: &[Decimal],
    target: Decimal,
    max_size: usize,
    max_solutions: usize,
) -> Found {
    let Some((values, target)) = minor_units(amounts, target) else {
        return Found {
            solutions: Vec::new(),
            exhausted: true,
        };
    };
    if values.iter().any(|v| *v <= 0) || target <= 0 {
        return Found {
            solutions: Vec::new(),
            exhausted: true,
        };
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|i| (values[*i], *i));
    let sorted: Vec<i64> = order.iter().map(|i| values[*i]).collect();
    let mut prefix = vec![0i64; sorted.len() + 1];
    for (i, v) in sorted.iter().enumerate() {
        prefix[i + 1] = prefix[i].saturating_add(*v);
    }
    let mut search = Search {
        sorted: &sorted,
        prefix: &prefix,
        budget: NODE_BUDGET,
        picked: Vec::new(),
        found: Vec::new(),
    };
    for size in 2..=max_size.min(sorted.len()) {
        search.run(0, size, target, max_solutions);
        if search.found.len() >= max_solutions || search.budget == 0 {
            break;
        }
    }
    let exhausted = search.budget == 0;
    let mut solutions: Vec<Vec<usize>> = search
        .found
        .into_iter()
        .map(|s| {
            let mut original: Vec<usize> = s.iter().map(|i| order[*i]).collect();
            original.sort_unstable();
            original
        })
        .collect();
    solutions.sort_by(|a, b| {
        a.len()
            .cmp(&b.len())
            .then_with(|| a.iter().sum::<usize>().cmp(&b.iter().sum()))
            .then(a.cmp(b))
    });
    Found {
        solutions,
        exhausted,
    }
}

struct Search<'a> {
    /// Candidate amounts, ascending.
    sorted: &'a [i64],
    prefix: &'a [i64],
    budget: u32,
    picked: Vec<usize>,
    found: Vec<Vec<usize>>,
}

impl Search<'_> {
    /// Picks `left` more items from `start..` summing to `rest`.
    fn run(&mut self, start: usize, left: usize, rest: i64, max_solutions: usize) {
        if left == 0 {
            if rest == 0 {
                self.found.push(self.picked.clone());
            }
            return;
        }
        let n = self.sorted.len();
        if n < start + left {
            return;
        }
        // The `left` largest items cannot reach the rest: nothing from here can.
        if self.prefix[n] - self.prefix[n - left] < rest {
            return;
        }
        for i in start..=n - left {
            if self.budget == 0 || self.found.len() >= max_solutions {
                return;
            }
            self.budget -= 1;
            // The `left` smallest items from here already overshoot: so does everything after.
            if self.prefix[i + left] - self.prefix[i] > rest {
                return;
            }
            self.picked.push(i);
            self.run(i + 1, left - 1, rest - self.sorted[i], max_solutions);
            self.picked.pop();
        }
    }
}
