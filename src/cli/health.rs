//! `boltward health`: the graph health report for people.

/// The human rendering of a report (`boltward health`).
pub fn text(r: &serde_json::Value) -> String {
    let mut out = format!("graph: {}\n", r["status"].as_str().unwrap_or("?"));
    for c in r["checks"].as_array().cloned().unwrap_or_default() {
        let ms = c["duration_ms"]
            .as_f64()
            .map(|d| format!("{d:>8.1} ms"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<13} {:<8}{}  {}\n",
            c["name"].as_str().unwrap_or(""),
            c["status"].as_str().unwrap_or(""),
            ms,
            c["message"].as_str().unwrap_or("")
        ));
        for p in c["problems"].as_array().cloned().unwrap_or_default() {
            out.push_str(&format!("      - {}\n", p.as_str().unwrap_or("")));
        }
    }
    if let Some(s) = r.get("stats").filter(|s| !s.is_null()) {
        out.push_str(&format!(
            "nodes {}, relationships {}\n",
            s["nodes"], s["relationships"]
        ));
        for (kind, key) in [("label", "labels"), ("type", "types")] {
            if let Some(m) = s[key].as_object() {
                for (k, v) in m {
                    out.push_str(&format!("  {kind:<5} {k:<20} {v}\n"));
                }
            }
        }
    }
    out
}
