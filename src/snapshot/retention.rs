//! Which snapshots retention deletes: pure, so every rule is a table test.
//!
//! Kept: every snapshot younger than `keep_days`; the newest valid snapshot of each of the
//! `daily` most recent days, `weekly` most recent ISO weeks and `monthly` most recent
//! months that have one (grandfather–father–son); and always the newest valid snapshot.
//! Everything else is deleted. Invalid snapshots (failed verification) never fill a
//! grandfather–father–son slot; they survive only inside `keep_days`.

use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Retention settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep everything younger than this many days (0: no age rule).
    pub keep_days: u32,
    /// Newest of each of this many most recent days.
    pub daily: usize,
    /// Newest of each of this many most recent ISO weeks.
    pub weekly: usize,
    /// Newest of each of this many most recent months.
    pub monthly: usize,
}

/// A snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Snapshot id.
    pub id: String,
    /// Creation time, seconds since the epoch (UTC).
    pub created: i64,
    /// Whether it verified.
    pub valid: bool,
}

/// The ids to delete, oldest first.
pub fn select(all: &[Candidate], r: &Retention, now: i64) -> Vec<String> {
    let mut sorted: Vec<&Candidate> = all.iter().collect();
    sorted.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    if let Some(newest) = sorted.iter().find(|c| c.valid) {
        keep.insert(&newest.id);
    }
    if r.keep_days > 0 {
        let horizon = now - i64::from(r.keep_days) * 86_400;
        keep.extend(
            sorted
                .iter()
                .filter(|c| c.created > horizon)
                .map(|c| c.id.as_str()),
        );
    }
    let valid: Vec<&&Candidate> = sorted.iter().filter(|c| c.valid).collect();
    for (slots, bucket) in [
        (r.daily, bucket_day as fn(i64) -> (i32, u32)),
        (r.weekly, bucket_week),
        (r.monthly, bucket_month),
    ] {
        let mut seen = Vec::new();
        for c in &valid {
            let b = bucket(c.created);
            if seen.contains(&b) {
                continue;
            }
            if seen.len() == slots {
                break;
            }
            seen.push(b);
            keep.insert(&c.id);
        }
    }
    let mut delete: Vec<&&Candidate> = sorted
        .iter()
        .filter(|c| !keep.contains(c.id.as_str()))
        .collect();
    delete.sort_by_key(|c| c.created);
    delete.into_iter().map(|c| c.id.clone()).collect()
}

fn date(secs: i64) -> time::Date {
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}

fn bucket_day(secs: i64) -> (i32, u32) {
    let d = date(secs);
    (d.year(), u32::from(d.ordinal()))
}

fn bucket_week(secs: i64) -> (i32, u32) {
    let (year, week, _) = date(secs).to_iso_week_date();
    (year, u32::from(week))
}

fn bucket_month(secs: i64) -> (i32, u32) {
    let d = date(secs);
    (d.year(), u32::from(u8::from(d.month())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2026-11-22 12:00:00 UTC, a Sunday.
    const NOW: i64 = 1_795_348_800;

    fn snaps(spec: &[(&str, i64, bool)]) -> Vec<Candidate> {
        spec.iter()
            .map(|(id, age_days, valid)| Candidate {
                id: (*id).into(),
                created: NOW - age_days * DAY,
                valid: *valid,
            })
            .collect()
    }

    /// (id, age in days, valid).
    type Spec = Vec<(&'static str, i64, bool)>;

    fn run(spec: &[(&str, i64, bool)], r: Retention) -> Vec<String> {
        select(&snaps(spec), &r, NOW)
    }

    #[test]
    fn table() {
        let daily = |n| Retention {
            daily: n,
            ..Retention::default()
        };
        let cases: Vec<(&str, Spec, Retention, Vec<&str>)> = vec![
            ("nothing to do", vec![], daily(3), vec![]),
            (
                "no rules keep only the newest valid",
                vec![("a", 3, true), ("b", 2, true), ("c", 1, true)],
                Retention::default(),
                vec!["a", "b"],
            ),
            (
                "daily keeps the newest per day",
                vec![
                    ("a", 3, true),
                    ("b", 2, true),
                    ("c", 1, true),
                    ("d", 0, true),
                ],
                daily(2),
                vec!["a", "b"],
            ),
            (
                "two in one day: the newer one fills the slot",
                vec![("old", 1, true), ("new", 0, true)],
                Retention {
                    daily: 1,
                    ..Retention::default()
                },
                vec!["old"],
            ),
            (
                "keep_days keeps everything younger, valid or not",
                vec![
                    ("a", 10, true),
                    ("b", 5, false),
                    ("c", 2, true),
                    ("d", 1, false),
                ],
                Retention {
                    keep_days: 7,
                    ..Retention::default()
                },
                vec!["a"],
            ),
            (
                "invalid snapshots never fill a slot",
                vec![("a", 2, true), ("bad", 1, false), ("bad2", 0, false)],
                daily(1),
                vec!["bad", "bad2"],
            ),
            (
                "the newest valid survives even when all rules would drop it",
                vec![("valid", 400, true), ("bad", 1, false)],
                Retention {
                    keep_days: 7,
                    daily: 0,
                    weekly: 0,
                    monthly: 0,
                },
                vec![],
            ),
            (
                "weekly: newest of each ISO week",
                // NOW is a Sunday: ages 0..6 are one ISO week, 7..13 the week before.
                vec![
                    ("w2a", 13, true),
                    ("w2b", 8, true),
                    ("w1a", 6, true),
                    ("w1b", 0, true),
                    ("w3", 15, true),
                ],
                Retention {
                    weekly: 2,
                    ..Retention::default()
                },
                vec!["w3", "w2a", "w1a"],
            ),
            (
                "monthly: newest of each month (Nov, Oct, Sep)",
                vec![
                    ("sep", 70, true),
                    ("oct1", 52, true),
                    ("oct2", 25, true),
                    ("nov", 1, true),
                ],
                Retention {
                    monthly: 2,
                    ..Retention::default()
                },
                vec!["sep", "oct1"],
            ),
            (
                "grandfather-father-son together",
                vec![
                    ("m-aug", 100, true),
                    ("m-sep", 70, true),
                    ("w-old", 20, true),
                    ("w-prev", 9, true),
                    ("d-3", 3, true),
                    ("d-2", 2, true),
                    ("d-1", 1, true),
                    ("d-0", 0, true),
                ],
                // Months with a snapshot: Nov, Sep, Aug (none in Oct) — all three kept.
                Retention {
                    daily: 2,
                    weekly: 2,
                    monthly: 3,
                    keep_days: 0,
                },
                vec!["w-old", "d-3", "d-2"],
            ),
        ];
        for (name, spec, r, want) in cases {
            assert_eq!(run(&spec, r), want, "{name}");
        }
    }
}
