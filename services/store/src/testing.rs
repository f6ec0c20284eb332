//! Test fixture: a database that exists for one test. A temporary SQLite
//! file by default; a fresh PostgreSQL database (created here, dropped when
//! the fixture is dropped) when `KERNDESK_TEST_DATABASE_URL` names a server.

use sea_orm::{ConnectionTrait, Database};

pub const DATABASE_ENV: &str = "KERNDESK_TEST_DATABASE_URL";

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    cleanup: Option<PgCleanup>,
    _dir: Option<tempfile::TempDir>,
}

struct PgCleanup {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        match std::env::var(DATABASE_ENV) {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("kd_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to the PostgreSQL test server");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url.rsplit_once('/').expect("url has a database").0;
                Self {
                    url: format!("{base}/{name}"),
                    cleanup: Some(PgCleanup { admin_url, name }),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("kerndesk.db").display()
                );
                Self {
                    url,
                    cleanup: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.cleanup.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(PgCleanup { admin_url, name }) = self.cleanup.take() {
            // Drop runs outside async; a small runtime of its own does the work.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
