//! The runs list: filters and pages.

use super::*;

#[tokio::test]
async fn the_runs_list_filters_and_pages() {
    let (app, tenant, admin, _) = world(false).await;
    let db = &app.services.db;
    let mut ids = Vec::new();
    for i in 0..120 {
        let operation = if i % 2 == 0 {
            RunOperation::CaptureSnapshot
        } else {
            RunOperation::RestorePreview
        };
        let run = run_store::insert(
            db,
            NewRun {
                id: Uuid::now_v7(),
                tenant_id: tenant.id,
                operation,
                target_type: entity::enums::TargetType::Tenant,
                target_id: Uuid::new_v4(),
                selection_digest: String::new(),
                initiator_id: admin.id,
                parent_run_id: None,
                params: json!({}),
                max_attempts: 3,
            },
        )
        .await
        .unwrap();
        ids.push(run.id);
    }
    entity::runs::Entity::update_many()
        .col_expr(
            entity::runs::Column::Status,
            Expr::value(RunStatus::Succeeded),
        )
        .col_expr(
            entity::runs::Column::FinishedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(entity::runs::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await
        .unwrap();

    let browser = Visitor::sign_in(&app, &admin.email).await;
    let t = tenant.id;
    let mut path = format!("/tenants/{t}/runs");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, html) = browser.page(&path).await;
        assert_eq!(status, 200);
        pages += 1;
        seen.extend(
            html.match_indices("<tr data-run=\"")
                .map(|(i, m)| html[i + m.len()..i + m.len() + 36].to_string()),
        );
        match html.split("class=\"pager\"><a href=\"").nth(1) {
            Some(rest) => path = rest.split('"').next().unwrap().replace("&#38;", "&"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120);
    let mut newest_first: Vec<String> = ids.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(seen, newest_first);

    let (_, html) = browser
        .page(&format!(
            "/tenants/{t}/runs?operation=restore_preview&status=succeeded"
        ))
        .await;
    assert_eq!(html.matches("<tr data-run=").count(), 50);
    assert!(!html.contains(">Snapshot capture <"), "filtered");
    assert!(
        html.contains("operation=restore_preview&#38;status=succeeded&#38;cursor="),
        "{}",
        html.split("pager").nth(1).unwrap_or_default()
    );
    let (_, html) = browser
        .page(&format!("/tenants/{t}/runs?status=failed"))
        .await;
    assert!(html.contains("No runs match these filters"), "{html}");
    newest_first.truncate(10);
    let (_, html) = browser.page(&format!("/tenants/{t}")).await;
    for id in &newest_first {
        assert!(
            html.contains(id.as_str()),
            "the dashboard lists recent run {id}"
        );
    }
    app.shutdown().await;
}
