//! The local Postgres helper: private clusters (start, reuse, restart, stop) and test databases.

use std::time::Duration;

use local_pg::PostgresServer;
use sqlx::{Connection, PgConnection};

async fn answers(url: &str) -> bool {
    let connect = tokio::time::timeout(Duration::from_secs(2), PgConnection::connect(url));
    matches!(connect.await, Ok(Ok(_)))
}

async fn select_one(url: &str) -> sqlx::Result<i32> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await
}

#[tokio::test]
async fn a_private_cluster_starts_in_an_empty_directory_and_answers_queries() {
    let dir = tempfile::tempdir().unwrap();

    let server = PostgresServer::start_private(dir.path()).await.unwrap();

    assert!(server.url().starts_with("postgres://postgres@127.0.0.1:"), "{}", server.url());
    assert_eq!(select_one(&server.database_url("postgres")).await.unwrap(), 1);
    server.stop().await.unwrap();
    assert!(!answers(&server.database_url("postgres")).await, "still answers after stop");
}

#[tokio::test]
async fn a_running_private_cluster_is_reused_and_a_stopped_one_restarts_on_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let first = PostgresServer::start_private(dir.path()).await.unwrap();

    let reused = PostgresServer::start_private(dir.path()).await.unwrap();
    assert_eq!(reused.url(), first.url());
    reused.stop().await.unwrap();
    let restarted = PostgresServer::start_private(dir.path()).await.unwrap();

    assert_eq!(restarted.url(), first.url());
    assert_eq!(select_one(&restarted.database_url("postgres")).await.unwrap(), 1);
    restarted.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_starts_of_one_directory_share_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("cluster");

    let (a, b) =
        tokio::join!(PostgresServer::start_private(&data_dir), PostgresServer::start_private(&data_dir));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a.url(), b.url());
    assert_eq!(select_one(&b.database_url("postgres")).await.unwrap(), 1);
    a.stop().await.unwrap();
    b.stop().await.unwrap(); // already stopped: nothing to do
}

#[tokio::test]
async fn create_database_gives_a_fresh_empty_database_each_time() {
    let server = PostgresServer::for_tests().await.unwrap();

    let first = server.create_database().await.unwrap();
    let second = server.create_database().await.unwrap();

    assert_ne!(first, second);
    for url in [first, second] {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(tables, 0, "{url} is not empty");
        let name: String =
            sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap();
        assert!(name.starts_with("test_") && url.ends_with(&name), "{name} vs {url}");
    }
}

#[tokio::test]
async fn for_tests_gives_the_same_server_every_time() {
    let first = PostgresServer::for_tests().await.unwrap();
    let second = PostgresServer::for_tests().await.unwrap();

    assert!(std::ptr::eq(first, second));
    assert_eq!(select_one(&first.database_url("postgres")).await.unwrap(), 1);
}
