//! Checks against a real kube-apiserver (testenv).
