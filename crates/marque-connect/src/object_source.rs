//! Connector sources in object storage: `source.path = "s3://bucket/prefix/*.csv"` lists the
//! matching objects and streams each one through the reader, with the lake's S3 settings.
//!
//! An object's identity is its URL, size and ETag (a content hash the server keeps), so a rerun
//! skips objects already landed without downloading them; a rewritten object has a new ETag and
//! lands as a new batch.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use futures::stream::BoxStream;
use marque_lake::{Lake, LakeRoot};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use sha2::{Digest, Sha256};

use crate::{ConnectError, ConnectorDef, Result};

/// Whether a connector's `source.path` names objects rather than local files.
pub fn is_object_url(path: &str) -> bool {
    path.starts_with("s3://")
}

/// One object matching a connector's source.
#[derive(Clone)]
pub struct Object {
    pub store: Arc<dyn ObjectStore>,
    pub location: ObjectPath,
    /// `s3://bucket/key`: the lineage recorded with every row, and part of the batch id.
    pub url: String,
    pub size: u64,
    /// The server's ETag, quotes stripped; `None` when the server gives none.
    pub etag: Option<String>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("url", &self.url)
            .field("size", &self.size)
            .field("etag", &self.etag)
            .finish()
    }
}

/// Splits `s3://bucket/some/prefix/*.csv` into the bucket, the listing prefix (the key up to
/// the last `/` before the first glob character) and the glob over whole keys.
fn split_url(url: &str) -> Option<(String, String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, pattern) = rest.split_once('/')?;
    if bucket.is_empty() || pattern.is_empty() {
        return None;
    }
    let literal = pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len());
    let prefix = match pattern[..literal].rfind('/') {
        Some(i) => &pattern[..i],
        None => "",
    };
    Some((bucket.to_string(), prefix.to_string(), pattern.to_string()))
}

/// The store for `bucket`: the lake's own when the lake lives in that bucket (so explicit lake
/// options apply), else one built from the same settings the lake reads (AWS variables,
/// `[lake.storage]` of marque.toml).
fn store_for(lake: &Lake, bucket: &str, url: &str) -> Result<Arc<dyn ObjectStore>> {
    let root = lake.root();
    if root.url().scheme() == "s3"
        && root.url().host_str() == Some(bucket)
        && let Some(store) = root.store()
    {
        return Ok(store.clone());
    }
    let source = LakeRoot::parse(&format!("s3://{bucket}/"), &HashMap::new())?;
    source.store().cloned().ok_or_else(|| ConnectError::Source {
        url: url.to_string(),
        message: "no object store for this URL".into(),
    })
}

/// The objects matching `def.source.path`, sorted by key.
pub async fn list(lake: &Lake, def: &ConnectorDef) -> Result<Vec<Object>> {
    let url = def.source.path.as_str();
    let bad = |message: String| ConnectError::Definition {
        path: def.path.clone(),
        message,
    };
    let (bucket, prefix, pattern) = split_url(url).ok_or_else(|| {
        bad(format!(
            "source.path {url:?} must look like s3://bucket/prefix/*.csv"
        ))
    })?;
    let glob = glob::Pattern::new(&pattern)
        .map_err(|e| bad(format!("source.path {url:?} is not a valid glob: {e}")))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::default()
    };
    let store = store_for(lake, &bucket, url)?;
    let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
    let mut listing = store.list(prefix.as_ref());
    let mut objects = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| ConnectError::Source {
            url: url.to_string(),
            message: format!("cannot list objects: {e}"),
        })?;
        let key = meta.location.as_ref();
        if !glob.matches_with(key, options) {
            continue;
        }
        objects.push(Object {
            store: store.clone(),
            url: format!("s3://{bucket}/{key}"),
            location: meta.location.clone(),
            size: meta.size,
            etag: meta.e_tag.map(|e| e.trim_matches('"').to_string()),
        });
    }
    objects.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(objects)
}

/// The identity recorded for an object (the `content_sha256` column of `ingest_batches`):
/// `etag:…` from the server, or the SHA-256 of the content when the server gives no ETag.
pub async fn identity(object: &Object) -> Result<String> {
    if let Some(etag) = &object.etag {
        return Ok(format!("etag:{etag}"));
    }
    let mut stream = get_stream(object).await?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.map_err(|e| read_error(object, e))?);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn read_error(object: &Object, e: object_store::Error) -> ConnectError {
    ConnectError::Source {
        url: object.url.clone(),
        message: format!("cannot read the object: {e}"),
    }
}

async fn get_stream(object: &Object) -> Result<BoxStream<'static, object_store::Result<Bytes>>> {
    use object_store::ObjectStoreExt;
    let got = object
        .store
        .get(&object.location)
        .await
        .map_err(|e| read_error(object, e))?;
    Ok(got.into_stream())
}

/// The object as a blocking reader that downloads as it is read (memory stays at one network
/// chunk), for use on a blocking thread of the runtime `handle`.
pub fn blocking_reader(
    handle: tokio::runtime::Handle,
    object: &Object,
) -> Result<impl Read + Send + 'static> {
    let stream = handle.block_on(get_stream(object))?;
    Ok(StreamRead {
        handle,
        stream,
        current: Bytes::new(),
    })
}

struct StreamRead {
    handle: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
}

impl Read for StreamRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_listing_prefix_and_glob() {
        assert_eq!(
            split_url("s3://exports/dms/2026/*.csv"),
            Some(("exports".into(), "dms/2026".into(), "dms/2026/*.csv".into()))
        );
        assert_eq!(
            split_url("s3://exports/sales-*.csv"),
            Some(("exports".into(), "".into(), "sales-*.csv".into()))
        );
        assert_eq!(split_url("s3://exports"), None);
        assert_eq!(split_url("s3:///x.csv"), None);
        assert!(is_object_url("s3://b/k") && !is_object_url("sales/*.csv"));
    }
}
