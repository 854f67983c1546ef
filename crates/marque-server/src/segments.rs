//! Segment definitions: `NAME.sql` files in the segments directory, each one read-only query
//! returning at least a `customer_id` column. Leading `--` comment lines are the description.

use std::path::Path;

/// One named segment.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub description: String,
    pub sql: String,
}

/// Reads the `*.sql` files of `dir` (sorted by name; a missing directory has no segments). Files
/// that cannot be read or whose stem is not a valid name are skipped with a warning.
pub fn load_dir(dir: &Path) -> Vec<Segment> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::info!(dir = %dir.display(), "no segments directory; no segments served");
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if !marque_lake::is_valid_table_name(name) {
            tracing::warn!(path = %path.display(), "segment file name is not a valid name; skipped");
            continue;
        }
        let sql = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read segment; skipped");
                continue;
            }
        };
        let description = sql
            .lines()
            .map(str::trim)
            .take_while(|l| l.starts_with("--"))
            .map(|l| l.trim_start_matches('-').trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let sql = sql.trim().trim_end_matches(';').to_string();
        out.push(Segment {
            name: name.to_string(),
            description,
            sql,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_sql_files_named_by_stem_with_comment_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dormant_owners.sql"),
            "-- Owners with no visit\n-- in nine months.\nSELECT customer_id FROM customers;\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("Bad-Name.sql"), "SELECT 1").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let s = load_dir(dir.path());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "dormant_owners");
        assert_eq!(s[0].description, "Owners with no visit in nine months.");
        assert!(s[0].sql.ends_with("FROM customers"));
        assert!(load_dir(&dir.path().join("missing")).is_empty());
    }
}
