//! Packaging tests: the Helm chart, the plain manifests in `deploy/` and the Dockerfile, checked
//! with the real helm, kubectl and hadolint that `hack/install-tools.sh` installs, and against
//! a real kube-apiserver (testenv) where a cluster is needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod packaging {
    pub mod support;

    mod artifacts;
    mod chart;
    mod cluster;
    mod cluster_install;
    mod cluster_rbac;
    mod dockerfile;
    mod monitoring;
    mod operator_rbac;
    mod rbac;
}
