//! Views from a directory of `*.sql` files: `NAME.sql` holds one `SELECT` and becomes view `NAME`.

use std::path::Path;
use std::sync::Arc;

use datafusion::catalog::view::ViewTable;
use datafusion::prelude::SessionContext;

use crate::guard::check_read_only;
use crate::{EngineError, Result};

/// One view file: its name (the file stem) and its SQL.
#[derive(Debug, Clone)]
pub(crate) struct ViewFile {
    pub name: String,
    pub sql: String,
}

/// Reads the `*.sql` files of `dir`, sorted by name. A directory that does not exist has no
/// views. Files whose stem is not a valid table name ([`marque_lake::is_valid_table_name`])
/// are skipped with a warning.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<ViewFile>> {
    if !dir.is_dir() {
        tracing::debug!(dir = %dir.display(), "no views directory; no views registered");
        return Ok(Vec::new());
    }
    let io = |source| EngineError::ViewFile {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    paths.sort();
    let mut views = Vec::new();
    for path in paths {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let valid = marque_lake::is_valid_table_name(name);
        if !valid {
            tracing::warn!(path = %path.display(), "view file name is not a valid view name; skipped");
            continue;
        }
        let sql = std::fs::read_to_string(&path).map_err(|source| EngineError::ViewFile {
            path: path.display().to_string(),
            source,
        })?;
        views.push(ViewFile {
            name: name.to_string(),
            sql,
        });
    }
    Ok(views)
}

/// Registers `views` on `ctx`. Views may use each other, so registration runs in passes until no
/// more view succeeds; a view that still fails (typically because it reads a table this lake does
/// not have yet) is left out and returned with its error.
pub(crate) async fn register(
    ctx: &SessionContext,
    views: &[ViewFile],
) -> (Vec<String>, Vec<(String, EngineError)>) {
    let mut pending: Vec<&ViewFile> = views.iter().collect();
    let mut registered = Vec::new();
    loop {
        let mut failed = Vec::new();
        let mut progress = false;
        for view in pending {
            match register_one(ctx, view).await {
                Ok(()) => {
                    registered.push(view.name.clone());
                    progress = true;
                }
                Err(e) => failed.push((view, e)),
            }
        }
        if failed.is_empty() || !progress {
            let failed: Vec<_> = failed
                .into_iter()
                .map(|(v, e)| (v.name.clone(), e))
                .collect();
            for (name, e) in &failed {
                tracing::warn!(view = %name, error = %e, "view not registered");
            }
            registered.sort();
            return (registered, failed);
        }
        pending = failed.into_iter().map(|(v, _)| v).collect();
    }
}

async fn register_one(ctx: &SessionContext, view: &ViewFile) -> Result<()> {
    if ctx.table_exist(view.name.as_str())? {
        return Err(EngineError::InvalidQuery(format!(
            "view {} has the name of a lake table; the table wins",
            view.name
        )));
    }
    let sql = view.sql.trim().trim_end_matches(';');
    let plan = ctx.state().create_logical_plan(sql).await?;
    check_read_only(&plan)?;
    ctx.register_table(
        view.name.as_str(),
        Arc::new(ViewTable::new(plan, Some(sql.to_string()))),
    )?;
    Ok(())
}
