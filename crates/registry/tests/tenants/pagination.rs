use registry::tenants::ListCursor;

use crate::helpers::{actor, new_tenant, store};

#[tokio::test]
async fn listing_page_by_page_walks_every_tenant_once_newest_first() {
    let (store, _pool) = store().await;
    let mut created = Vec::new();
    for n in 0..7 {
        let tenant = store.create(new_tenant(&format!("tenant-{n}")), &actor()).await.unwrap();
        created.push(tenant.slug.to_string());
    }

    let mut listed = Vec::new();
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.list(3, cursor).await.unwrap();
        pages.push(page.len());
        listed.extend(page.into_iter().map(|t| t.slug.to_string()));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    created.reverse();
    assert_eq!(listed, created);
    assert_eq!(pages, [3, 3, 1]);
}

#[tokio::test]
async fn a_cursor_a_client_sends_back_continues_after_the_tenant_it_names() {
    let (store, _pool) = store().await;
    for n in 0..3 {
        store.create(new_tenant(&format!("tenant-{n}")), &actor()).await.unwrap();
    }
    let (newest, next) = store.list(1, None).await.unwrap();
    let sent_back = ListCursor::decode(&next.unwrap().encode());

    let (rest, after_rest) = store.list(10, sent_back).await.unwrap();

    assert_eq!(newest[0].slug.as_str(), "tenant-2");
    let rest: Vec<_> = rest.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(rest, ["tenant-1", "tenant-0"]);
    assert!(after_rest.is_none(), "the page that holds the last tenant has no cursor");
}

#[tokio::test]
async fn an_empty_registry_lists_nothing() {
    let (store, _pool) = store().await;

    let (tenants, next) = store.list(50, None).await.unwrap();

    assert!(tenants.is_empty());
    assert!(next.is_none());
}

#[test]
fn garbage_is_no_cursor() {
    assert_eq!(ListCursor::decode("not-a-cursor"), None);
    assert_eq!(ListCursor::decode(""), None);
}
