//! Where the lake lives: a local folder or an S3 URL, and the object store that reaches it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use url::Url;

use crate::{LakeError, Result};

/// The root of the lake, resolved to a URL, with the object store that serves it.
#[derive(Clone)]
pub struct LakeRoot {
    url: Url,
    /// For S3: a store rooted at the bucket; `None` for local folders, which deltalake opens
    /// itself.
    store: Option<Arc<dyn ObjectStore>>,
}

impl std::fmt::Debug for LakeRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeRoot")
            .field("url", &self.url.as_str())
            .finish()
    }
}

impl LakeRoot {
    /// Parses `s3://bucket/prefix` or a local path (created if missing). S3 settings come from
    /// the usual AWS variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`), overridden by the `[lake.storage]` table of
    /// `marque.toml` (the file named by `MARQUE_CONFIG`, else `./marque.toml` when present),
    /// overridden by `options` (same names, lower or upper case).
    pub fn parse(root: &str, options: &HashMap<String, String>) -> Result<Self> {
        let invalid = |reason: String| LakeError::InvalidRoot {
            root: root.to_string(),
            reason,
        };
        if root.starts_with("s3://") {
            let mut url = Url::parse(root).map_err(|e| invalid(e.to_string()))?;
            let bucket = url
                .host_str()
                .ok_or_else(|| invalid("no bucket".into()))?
                .to_string();
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            let mut merged = config_storage_options().map_err(&invalid)?;
            merged.extend(options.iter().map(|(k, v)| (k.clone(), v.clone())));
            let store = s3_store(&bucket, &merged).map_err(|e| invalid(e.to_string()))?;
            register_s3_log_store();
            return Ok(Self {
                url,
                store: Some(store),
            });
        }
        if root.contains("://") {
            return Err(invalid(
                "only local paths and s3:// URLs are supported".into(),
            ));
        }
        let path = Path::new(root);
        std::fs::create_dir_all(path).map_err(|source| LakeError::Io {
            root: root.into(),
            source,
        })?;
        let abs = std::fs::canonicalize(path).map_err(|source| LakeError::Io {
            root: root.into(),
            source,
        })?;
        let url =
            Url::from_directory_path(&abs).map_err(|_| invalid("not an absolute path".into()))?;
        Ok(Self { url, store: None })
    }

    /// The root as a URL ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The object store for S3 roots (rooted at the bucket).
    pub fn store(&self) -> Option<&Arc<dyn ObjectStore>> {
        self.store.as_ref()
    }

    /// The local folder, when the lake is local.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        (self.url.scheme() == "file")
            .then(|| self.url.to_file_path().ok())
            .flatten()
    }
}

/// The `[lake.storage]` string values of the configuration file, if any.
fn config_storage_options() -> std::result::Result<HashMap<String, String>, String> {
    let path = std::env::var("MARQUE_CONFIG").unwrap_or_else(|_| "marque.toml".into());
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(HashMap::new());
    };
    storage_options_from_toml(&text).map_err(|e| format!("{path}: {e}"))
}

fn storage_options_from_toml(text: &str) -> std::result::Result<HashMap<String, String>, String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let Some(storage) = doc
        .get("lake")
        .and_then(|l| l.get("storage"))
        .and_then(|s| s.as_table())
    else {
        return Ok(HashMap::new());
    };
    storage
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k.clone(), s.clone())),
            toml::Value::Boolean(b) => Ok((k.clone(), b.to_string())),
            other => Err(format!("[lake.storage] {k} must be a string, not {other}")),
        })
        .collect()
}

fn s3_store(
    bucket: &str,
    options: &HashMap<String, String>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in options {
        let key = key.to_ascii_lowercase();
        if let Ok(k) = key.parse() {
            builder = builder.with_config(k, value);
        }
    }
    let allow_http = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| v.starts_with("http://"))
        || options
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("aws_allow_http") && v == "true");
    let builder = builder
        .with_allow_http(allow_http)
        .with_virtual_hosted_style_request(false);
    Ok(Arc::new(builder.build()?))
}

/// Delta's own S3 support lives in another crate that brings the AWS SDK; Marque reaches S3
/// through object_store instead and needs only the default log store (conditional-put commits)
/// registered for the `s3` scheme.
fn register_s3_log_store() {
    use deltalake::logstore::{
        LogStore, LogStoreFactory, StorageConfig, default_logstore, logstore_factories,
    };

    struct S3LogStores;
    impl LogStoreFactory for S3LogStores {
        fn with_options(
            &self,
            prefixed_store: deltalake::logstore::ObjectStoreRef,
            root_store: deltalake::logstore::ObjectStoreRef,
            location: &Url,
            options: &StorageConfig,
        ) -> deltalake::DeltaResult<Arc<dyn LogStore>> {
            Ok(default_logstore(
                prefixed_store,
                root_store,
                location,
                options,
            ))
        }
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        logstore_factories().insert(
            Url::parse("s3://").expect("static url"),
            Arc::new(S3LogStores),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_options_come_from_the_lake_storage_table() {
        let text = r#"
[server]
addr = "127.0.0.1:8080"
[lake.storage]
aws_endpoint_url = "http://127.0.0.1:8333"
aws_allow_http = true
"#;
        let o = storage_options_from_toml(text).unwrap();
        assert_eq!(o["aws_endpoint_url"], "http://127.0.0.1:8333");
        assert_eq!(o["aws_allow_http"], "true");
        assert!(storage_options_from_toml("[lake.storage]\nx = 1").is_err());
        assert!(storage_options_from_toml("").unwrap().is_empty());
    }
}
