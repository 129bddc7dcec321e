//! Credentials read from a Secret, reused while the Secret's watch shows it unchanged.
//!
//! Every pass of every resource needs its namespace's grafana.com credentials, and reading
//! them was one kube-apiserver GET per pass: in a burst of 1,000 keys over 10 namespaces,
//! 1,000 reads of 10 Secrets. A read is reused only while the resourceVersion it saw is the
//! latest one the credentials watch has delivered for that Secret, and never for longer than
//! [`MAX_AGE`], which bounds a change the watch missed in the moment between a read and its
//! recording. A change wakes the Secret's users through that same watch, after the new
//! version is noted here, so the passes it starts read the Secret again. Without a running
//! credentials watch nothing is reused.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::credentials::Credentials;

/// The longest a read is reused.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// More Secrets than this are never followed: past it the cache starts again empty.
const MAX_ENTRIES: usize = 10_000;

type SecretId = (String, String);

struct Read {
    version: String,
    at: Instant,
    key: String,
    credentials: Credentials,
}

#[derive(Default)]
struct State {
    /// The latest resourceVersion seen of each credentials Secret read so far.
    latest: HashMap<SecretId, String>,
    /// The last read of each, for one token key.
    reads: HashMap<SecretId, Read>,
}

/// See the module documentation.
#[derive(Default)]
pub struct CredentialsCache {
    watched: AtomicBool,
    state: Mutex<State>,
}

impl std::fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsCache").finish_non_exhaustive()
    }
}

impl CredentialsCache {
    /// Called when a credentials watch starts: from then on reads are reused.
    pub fn watched(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }

    /// The credentials read from Secret `namespace/name` under `key`, if that read is still
    /// current.
    pub fn get(&self, namespace: &str, name: &str, key: &str) -> Option<Credentials> {
        if !self.watched.load(Ordering::Relaxed) {
            return None;
        }
        let id = (namespace.to_string(), name.to_string());
        let state = self.lock();
        let read = state.reads.get(&id)?;
        let current = state.latest.get(&id) == Some(&read.version)
            && read.key == key
            && read.at.elapsed() < MAX_AGE;
        current.then(|| read.credentials.clone())
    }

    /// Keeps `credentials`, read from Secret `namespace/name` at `version`.
    pub fn put(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        version: Option<&str>,
        credentials: &Credentials,
    ) {
        let Some(version) = version.filter(|_| self.watched.load(Ordering::Relaxed)) else {
            return;
        };
        let id = (namespace.to_string(), name.to_string());
        let mut state = self.lock();
        if state.latest.len() >= MAX_ENTRIES && !state.latest.contains_key(&id) {
            *state = State::default();
        }
        // Only the watch moves a version on: a read that raced a change must not hide it.
        state
            .latest
            .entry(id.clone())
            .or_insert_with(|| version.to_string());
        state.reads.insert(
            id,
            Read {
                version: version.to_string(),
                at: Instant::now(),
                key: key.to_string(),
                credentials: credentials.clone(),
            },
        );
    }

    /// The credentials watch saw Secret `namespace/name` at `version` (changed, or deleted).
    pub fn saw(&self, namespace: &str, name: &str, version: Option<&str>) {
        let id = (namespace.to_string(), name.to_string());
        let mut state = self.lock();
        if let Some(latest) = state.latest.get_mut(&id) {
            match version {
                Some(version) => version.clone_into(latest),
                None => {
                    state.latest.remove(&id);
                    state.reads.remove(&id);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{controller::credentials::SecretRef, grafana::Token};

    fn creds(token: &str) -> Credentials {
        Credentials {
            token: Token::new(token),
            org_slug: Some("org".into()),
            source: SecretRef {
                namespace: "ns".into(),
                name: "creds".into(),
            },
        }
    }

    fn token(cache: &CredentialsCache) -> Option<String> {
        cache
            .get("ns", "creds", "token")
            .map(|c| c.token.expose().to_string())
    }

    #[test]
    fn without_a_watch_nothing_is_reused() {
        let cache = CredentialsCache::default();
        cache.put("ns", "creds", "token", Some("1"), &creds("a"));
        assert_eq!(token(&cache), None);
    }

    #[test]
    fn a_read_is_reused_until_the_watch_shows_a_change() {
        let cache = CredentialsCache::default();
        cache.watched();
        cache.put("ns", "creds", "token", Some("1"), &creds("a"));
        assert_eq!(token(&cache).as_deref(), Some("a"));
        cache.saw("ns", "creds", Some("1"));
        assert_eq!(token(&cache).as_deref(), Some("a"), "same version");
        cache.saw("ns", "creds", Some("2"));
        assert_eq!(token(&cache), None, "changed: read again");
        cache.put("ns", "creds", "token", Some("2"), &creds("b"));
        assert_eq!(token(&cache).as_deref(), Some("b"));
        assert!(
            cache.get("ns", "creds", "other-key").is_none(),
            "another key of the Secret was not read"
        );
        cache.saw("ns", "creds", None);
        assert_eq!(token(&cache), None, "deleted");
    }

    #[test]
    fn a_read_that_raced_a_change_does_not_hide_it() {
        let cache = CredentialsCache::default();
        cache.watched();
        cache.put("ns", "creds", "token", Some("1"), &creds("a"));
        cache.saw("ns", "creds", Some("2"));
        // A read sent before the change answers after the watch saw it.
        cache.put("ns", "creds", "token", Some("1"), &creds("a"));
        assert_eq!(token(&cache), None);
    }

    #[test]
    fn secrets_nobody_read_are_not_followed() {
        let cache = CredentialsCache::default();
        cache.watched();
        cache.saw("ns", "unrelated", Some("5"));
        assert!(cache.lock().latest.is_empty());
    }
}
