//! Stock levels through the edge: staff set and read them; nobody else can.

use crate::harness::platforms;
use serde_json::json;

#[tokio::test]
async fn staff_set_and_read_stock_per_location_and_others_cannot() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(1, &store, "owner@example.com", "correct horse battery")
            .await;
        let path = format!("/v1/stores/{store}/inventory/BS-M");
        let put = |n, body: serde_json::Value, token: Option<String>| {
            let mut r = p.http.put(format!("{}{path}", p.gateway(n))).json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            p.send(n, r)
        };
        let set = put(
            0,
            json!({"on_hand": 12, "low_stock_threshold": 3}),
            Some(owner.clone()),
        )
        .await;
        assert_eq!(set.status, 200, "{}: {}", p.name, set.body);
        let warehouse = put(
            1,
            json!({"location": "warehouse", "on_hand": 5}),
            Some(owner.clone()),
        )
        .await;
        assert_eq!(warehouse.status, 200, "{}: {}", p.name, warehouse.body);
        let read = p.get(0, &path, Some(&owner)).await;
        assert_eq!(read.status, 200, "{}: {}", p.name, read.body);
        assert_eq!(read.body["available_total"], 17, "{}", p.name);
        assert_eq!(read.body["locations"].as_array().unwrap().len(), 2);

        let negative = put(0, json!({"on_hand": -1}), Some(owner.clone())).await;
        assert_eq!(negative.status, 422, "{}: {}", p.name, negative.body);
        let typo = put(0, json!({"on_hand": 1, "onhand": 2}), Some(owner.clone())).await;
        assert_eq!(typo.status, 422, "{}", p.name);
        assert_eq!(
            p.get(1, &path, Some(&owner)).await.body["available_total"],
            17,
            "{}: nothing changed",
            p.name
        );

        assert_eq!(p.get(0, &path, None).await.status, 401, "{}", p.name);
        let customer = json!({"email": "c@example.com", "password": "customer password"});
        p.post(0, &format!("/v1/stores/{store}/customers"), None, &customer)
            .await;
        let (shopper, _) = p.sign_in(1, &store, "c@example.com", "customer password").await;
        assert_eq!(p.get(0, &path, Some(&shopper)).await.status, 403, "{}", p.name);
        let (other, _) = p.provision(1).await;
        let (other_owner, _) = p
            .sign_in(0, &other, "owner@example.com", "correct horse battery")
            .await;
        assert_eq!(
            p.get(1, &path, Some(&other_owner)).await.status,
            404,
            "{}",
            p.name
        );
    }
}
