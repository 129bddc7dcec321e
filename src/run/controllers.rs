//! The running controllers: one task per kind and watched scope, started together, and
//! watched so that the first to end (by returning or panicking) is noticed and named.

use std::{sync::Arc, time::Duration};

use tracing::error;

use crate::{
    controller::{
        Context, Shutdown,
        shell::{self, ManagedKind},
    },
    crd::{
        GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaCloudApiKey, GrafanaStack,
        GrafanaStackServiceAccount, GrafanaStackServiceAccountToken,
    },
};

/// The running controllers, each with the kind it serves.
pub struct Controllers {
    tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
    ctx: Arc<Context>,
    kube: kube::Client,
    shutdown: Shutdown,
}

impl Controllers {
    /// Starts every controller over every watched scope.
    pub fn spawn(
        ctx: &Arc<Context>,
        kube: &kube::Client,
        scopes: &[Option<String>],
        shutdown: &Shutdown,
    ) -> Self {
        let mut controllers = Self {
            tasks: Vec::new(),
            ctx: ctx.clone(),
            kube: kube.clone(),
            shutdown: shutdown.clone(),
        };
        for scope in scopes {
            controllers.start::<GrafanaStack>(scope);
            controllers.start::<GrafanaCloudApiKey>(scope);
            controllers.start::<GrafanaCloudAccessPolicy>(scope);
            controllers.start::<GrafanaCloudAccessPolicyToken>(scope);
            controllers.start::<GrafanaStackServiceAccount>(scope);
            controllers.start::<GrafanaStackServiceAccountToken>(scope);
        }
        controllers
    }

    /// Starts the controller of kind `K` over `scope`.
    fn start<K: ManagedKind>(&mut self, scope: &Option<String>) {
        let task = tokio::spawn(shell::run::<K>(
            self.ctx.clone(),
            self.kube.clone(),
            scope.clone(),
            self.shutdown.clone(),
        ));
        self.tasks.push((K::KIND, task));
    }

    /// Resolves with the kind of the first controller that ends, by returning or panicking.
    pub async fn first_to_end(&mut self) -> &'static str {
        first_to_end(&mut self.tasks).await
    }

    /// Waits up to `timeout` for every controller to finish; false when some did not.
    pub async fn drain(self, timeout: Duration) -> bool {
        let all = futures::future::join_all(self.tasks.into_iter().map(|(_, task)| task));
        tokio::time::timeout(timeout, all).await.is_ok()
    }

    pub fn abort(&self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
    }
}

/// The name of the first task in `tasks` to end, by returning or panicking; pending while
/// none has, or forever when there are none.
async fn first_to_end<T>(tasks: &mut [(&'static str, tokio::task::JoinHandle<T>)]) -> &'static str {
    if tasks.is_empty() {
        return std::future::pending().await;
    }
    let (ended, index, _) =
        futures::future::select_all(tasks.iter_mut().map(|(_, task)| task)).await;
    let name = tasks.get(index).map_or("unknown", |(name, _)| *name);
    match ended {
        Ok(_) => error!(controller = name, "controller ended"),
        Err(err) if err.is_panic() => error!(controller = name, "controller panicked"),
        Err(_) => error!(controller = name, "controller was cancelled"),
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_controller_is_noticed_and_named() {
        let mut tasks = vec![
            ("Healthy", tokio::spawn(std::future::pending::<()>())),
            (
                "Broken",
                tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    if std::hint::black_box(true) {
                        panic!("inside the controller");
                    }
                }),
            ),
        ];
        let ended = tokio::time::timeout(Duration::from_secs(5), first_to_end(&mut tasks)).await;
        assert_eq!(ended.ok(), Some("Broken"));
    }

    #[tokio::test]
    async fn a_controller_that_returns_is_noticed_too() {
        let mut tasks = vec![("Done", tokio::spawn(async {}))];
        let ended = tokio::time::timeout(Duration::from_secs(5), first_to_end(&mut tasks)).await;
        assert_eq!(ended.ok(), Some("Done"));
    }

    #[tokio::test]
    async fn running_controllers_keep_the_supervisor_waiting() {
        let mut tasks = vec![("Healthy", tokio::spawn(std::future::pending::<()>()))];
        let ended =
            tokio::time::timeout(Duration::from_millis(100), first_to_end(&mut tasks)).await;
        assert!(ended.is_err(), "a running controller was reported as ended");
    }
}
