use super::*;

fn want(slug: &str, version: Option<&str>) -> StackPlugin {
    StackPlugin {
        slug: slug.into(),
        version: version.map(Into::into),
    }
}

fn have(slug: &str, version: &str, latest: &str) -> InstalledPlugin {
    InstalledPlugin {
        plugin_slug: slug.into(),
        version: version.into(),
        latest_version: latest.into(),
    }
}

fn ours(slug: &str, version: &str) -> PluginStatus {
    entry(slug, Some(version), true)
}

#[test]
fn a_missing_plugin_is_installed_and_recorded_as_ours_before_its_version_is_known() {
    let plan = plan(&[want("clock", None), want("pie", Some("1.6.2"))], &[], &[]);
    assert_eq!(
        plan.install,
        vec![
            Step {
                slug: "clock".into(),
                version: None
            },
            Step {
                slug: "pie".into(),
                version: Some("1.6.2".into())
            },
        ]
    );
    assert!(plan.status.iter().all(|p| p.managed && p.version.is_none()));
}

#[test]
fn our_plugin_moves_to_the_pinned_version_or_to_each_new_latest() {
    let recorded = [ours("clock", "2.1.3"), ours("pie", "1.6.2")];
    let installed = [
        have("clock", "2.1.3", "2.1.8"),
        have("pie", "1.6.2", "1.6.4"),
    ];
    let plan = plan(
        &[want("clock", None), want("pie", Some("1.6.2"))],
        &recorded,
        &installed,
    );
    assert_eq!(
        plan.change,
        vec![Step {
            slug: "clock".into(),
            version: Some("2.1.8".into())
        }],
        "unpinned follows the latest; pinned stays"
    );
    assert!(plan.install.is_empty() && plan.remove.is_empty());
}

#[test]
fn a_plugin_installed_by_someone_else_is_never_changed_or_removed() {
    let installed = [
        have("clock", "2.1.3", "2.1.8"),
        have("pie", "1.6.2", "1.6.4"),
    ];
    let plan = plan(&[want("clock", Some("2.1.5"))], &[], &installed);
    assert!(plan.change.is_empty() && plan.remove.is_empty() && plan.install.is_empty());
    assert_eq!(plan.status, vec![entry("clock", Some("2.1.3"), false)]);
    let note = left_alone(&[want("clock", Some("2.1.5"))], &plan.status).unwrap();
    assert_eq!(
        note,
        "plugin clock 2.1.3 was installed by someone else and is left as it is"
    );
    assert_eq!(
        left_alone(&[want("clock", None)], &plan.status),
        None,
        "not pinned"
    );
}

#[test]
fn our_plugin_that_left_the_spec_is_removed_and_one_already_gone_is_forgotten() {
    let recorded = [ours("clock", "2.1.8"), ours("pie", "1.6.2")];
    let installed = [have("clock", "2.1.8", "2.1.8")];
    let plan = plan(&[], &recorded, &installed);
    assert_eq!(plan.remove, vec!["clock".to_string()]);
    assert_eq!(
        plan.status,
        vec![ours("clock", "2.1.8")],
        "kept until the removal succeeds"
    );
}

#[test]
fn settled_only_when_status_accounts_for_the_spec_and_nothing_more() {
    let spec = [want("clock", Some("2.1.8"))];
    assert!(settled(&spec, &[ours("clock", "2.1.8")]));
    assert!(
        !settled(&spec, &[ours("clock", "2.1.5")]),
        "pinned version differs"
    );
    assert!(
        !settled(&spec, &[entry("clock", None, true)]),
        "install under way"
    );
    assert!(!settled(&spec, &[]), "a new plugin in the spec");
    assert!(
        !settled(&[], &[ours("clock", "2.1.8")]),
        "one left the spec"
    );
    assert!(
        settled(&spec, &[entry("clock", Some("2.1.3"), false)]),
        "someone else's plugin at another version does not loop"
    );
    assert!(settled(&[], &[]));
}

#[test]
fn versions_from_grafana_com_are_bounded() {
    let long = "1".repeat(MAX_VERSION_LEN + 1);
    let plan = plan(&[want("clock", None)], &[], &[have("clock", &long, &long)]);
    assert_eq!(
        plan.status[0].version, None,
        "an overlong version is not recorded"
    );
    let mut status = vec![ours("clock", "2.1.3")];
    record_version(&mut status, "clock", &long);
    assert_eq!(status[0].version, None);
    record_version(&mut status, "clock", &"1".repeat(MAX_VERSION_LEN));
    assert_eq!(
        status[0].version.as_deref().map(str::len),
        Some(MAX_VERSION_LEN)
    );
}
