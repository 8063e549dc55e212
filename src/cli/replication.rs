//! `boltward replication status`: one line per remote.

use crate::replicate::RemoteStatus;

/// The remotes as a table: name, state, applied LSN, lag, then why it waits if it does.
pub fn table(remotes: &[RemoteStatus]) -> String {
    if remotes.is_empty() {
        return "no remotes configured ([[replication.remote]])\n".to_owned();
    }
    let mut out = format!(
        "{:<16} {:<13} {:>12} {:>12} {:>8}  {}\n",
        "REMOTE", "STATE", "APPLIED_LSN", "JOURNAL_LSN", "LAG", "NOTE"
    );
    for r in remotes {
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let lag = format!(
            "{}{}",
            r.lag_transactions,
            if r.lag_more { "+" } else { "" }
        );
        let note = r
            .reason
            .as_deref()
            .or(r.last_error.as_deref())
            .unwrap_or("");
        out.push_str(&format!(
            "{:<16} {:<13} {:>12} {:>12} {:>8}  {}\n",
            r.name, state, r.applied_lsn, r.journal_lsn, lag, note
        ));
    }
    out
}
