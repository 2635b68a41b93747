//! The WebDriver client drives a real headless Chromium: clicks run page scripts, typing
//! reaches inputs, navigation and screenshots work. Against a page of its own, so it fails
//! only when the browser tooling does.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;

use crate::webdriver::Browser;

const WAIT: Duration = Duration::from_secs(10);

const PAGE: &str = r#"<!doctype html>
<html>
<head><title>Smoke</title><script src="/app.js" defer></script></head>
<body>
<h1 id="heading">Browser smoke</h1>
<main id="counter"><button id="add" type="button">Add one</button> <output id="count">0</output></main>
<input id="name" type="text">
<p id="greeting"></p>
</body>
</html>"#;

// Served apart from the page: the product's CSP forbids inline scripts.
const SCRIPT: &str = r#"
const count = document.getElementById('count');
const add = document.getElementById('add');
add.addEventListener('click', () => {
  count.textContent = String(Number(count.textContent) + 1);
});
add.addEventListener('dblclick', () => add.setAttribute('data-double', 'yes'));
document.getElementById('name').addEventListener('input', (event) => {
  document.getElementById('greeting').textContent = 'Hello, ' + event.target.value;
});
"#;

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT)
}

#[tokio::test]
async fn a_headless_browser_clicks_types_and_takes_screenshots() {
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/app.js", get(script));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let browser = Browser::start("smoke").await.expect("browser");
    browser
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    assert_eq!(browser.title().await.unwrap(), "Smoke");
    let heading = browser.wait_for("#heading", WAIT).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Browser smoke");

    let add = browser.find("#add").await.unwrap();
    assert!(add.is_enabled().await.unwrap() && add.is_displayed().await.unwrap());
    add.double_click().await.expect("double-click");
    browser
        .wait_for_text("#count", "2", WAIT)
        .await
        .expect("two clicks counted");
    assert_eq!(
        browser.find("#count").await.unwrap().text().await.unwrap(),
        "2"
    );
    // Close enough together for the browser to see a double-click, not two clicks.
    assert_eq!(
        add.attr("data-double").await.unwrap().as_deref(),
        Some("yes")
    );

    let name = browser.find("#name").await.unwrap();
    name.send_keys("Ada").await.unwrap();
    browser
        .wait_for_text("#greeting", "Hello, Ada", WAIT)
        .await
        .expect("typing reached the input");
    assert_eq!(name.property("value").await.unwrap(), json!("Ada"));
    assert_eq!(name.attr("type").await.unwrap().as_deref(), Some("text"));
    name.clear().await.unwrap();
    assert_eq!(name.property("value").await.unwrap(), json!(""));
    assert!(browser.find("#missing").await.is_err());
    assert_eq!(
        browser
            .execute(
                "return arguments[0] + document.title",
                vec![json!("Page: ")]
            )
            .await
            .unwrap(),
        json!("Page: Smoke")
    );

    let shot = std::env::temp_dir().join(format!("pv-smoke-{}.png", uuid::Uuid::new_v4().simple()));
    browser.screenshot(&shot).await.expect("screenshot");
    let png = std::fs::read(&shot).unwrap();
    std::fs::remove_file(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");

    // A reload starts the page over; back returns to the previous address.
    browser.refresh().await.unwrap();
    let counter = browser.find("#counter").await.unwrap();
    assert_eq!(
        counter.find("#count").await.unwrap().text().await.unwrap(),
        "0"
    );
    counter.find("#add").await.unwrap().click().await.unwrap();
    assert_eq!(
        counter.find("#count").await.unwrap().text().await.unwrap(),
        "1"
    );
    browser.goto(&format!("{base}/?second")).await.unwrap();
    browser.back().await.unwrap();
    assert_eq!(browser.current_url().await.unwrap(), format!("{base}/"));

    browser.close().await.expect("close the browser");
}
