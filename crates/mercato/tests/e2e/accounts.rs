//! The accounts an owner manages, through the REST API in both topologies (identity reached by
//! gRPC in the distributed one): the staff list, API clients (secret shown once, rotated,
//! revoked) and the RFC 7009 revocation a sign-out uses.

use crate::harness::{Platform, Reply, platforms};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn client_grant(p: &Platform, n: usize, id: &str, secret: &str) -> Reply {
    p.token(
        n,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await
}

#[tokio::test]
async fn an_owner_lists_staff_and_creates_rotates_and_revokes_api_clients_that_staff_cannot_touch() {
    for p in platforms().await {
        let (store, created) = p.provision(0).await;
        let provisioned = created["api_client"]["client_id"].as_str().unwrap().to_owned();
        let (owner, _) = p.sign_in(1, &store, "owner@example.com", PASSWORD).await;
        let staff_body = json!({"email": "bob@example.com", "password": PASSWORD});
        let made = p
            .post(0, &format!("/v1/stores/{store}/staff"), Some(&owner), &staff_body)
            .await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        let (bob, _) = p.sign_in(0, &store, "bob@example.com", PASSWORD).await;

        let listed = p.get(1, &format!("/v1/stores/{store}/staff"), Some(&bob)).await;
        assert_eq!(listed.status, 200, "{}: {}", p.name, listed.body);
        let roles: Vec<_> = listed.body["staff"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["email"].as_str().unwrap(), u["role"].as_str().unwrap()))
            .collect();
        assert_eq!(
            roles,
            [("owner@example.com", "owner"), ("bob@example.com", "staff")]
        );

        let clients = format!("/v1/stores/{store}/api-clients");
        let refused = p.post(0, &clients, Some(&bob), &json!({"name": "Mine"})).await;
        assert_eq!(refused.status, 403, "{}: staff make no clients", p.name);
        let made = p.post(0, &clients, Some(&owner), &json!({"name": "Sync"})).await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        let (id, secret) = (
            made.body["client_id"].as_str().unwrap().to_owned(),
            made.body["client_secret"].as_str().unwrap().to_owned(),
        );
        assert_eq!(client_grant(&p, 1, &id, &secret).await.status, 200, "{}", p.name);

        let list = p.get(1, &clients, Some(&owner)).await;
        let ids: Vec<_> = list.body["api_clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [id.as_str(), provisioned.as_str()],
            "{}: newest first",
            p.name
        );
        assert!(
            !list.body.to_string().contains(&secret),
            "{}: no secret listed",
            p.name
        );

        let rotated = p
            .post(
                0,
                &format!("{clients}/{id}/rotate-secret"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(rotated.status, 200, "{}: {}", p.name, rotated.body);
        let fresh = rotated.body["client_secret"].as_str().unwrap();
        assert_eq!(client_grant(&p, 0, &id, &secret).await.status, 401, "{}", p.name);
        assert_eq!(client_grant(&p, 1, &id, fresh).await.status, 200, "{}", p.name);

        let revoked = p
            .post(1, &format!("{clients}/{id}/revoke"), Some(&owner), &json!({}))
            .await;
        assert_eq!(revoked.status, 200, "{}: {}", p.name, revoked.body);
        assert!(revoked.body["revoked_at"].is_string(), "{}", p.name);
        assert_eq!(client_grant(&p, 0, &id, fresh).await.status, 401, "{}", p.name);
        let again = p
            .post(
                0,
                &format!("{clients}/{id}/rotate-secret"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(again.status, 409, "{}: a revoked client keeps no secret", p.name);
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_signs_that_session_out_and_any_token_gets_200() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (_, refresh) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
        let revoke = |token: String, n: usize| {
            let request = p
                .http
                .post(format!("{}/v1/oauth/revoke", p.gateway(n)))
                .form(&[("token", token.as_str()), ("token_type_hint", "refresh_token")]);
            p.send(n, request)
        };
        for (n, token) in [refresh.clone(), refresh.clone(), "not a token".to_owned()]
            .into_iter()
            .enumerate()
        {
            let r = revoke(token, n).await;
            assert_eq!(r.status, 200, "{}: {}", p.name, r.body);
            assert_eq!(r.headers["cache-control"], "no-store", "{}", p.name);
        }
        let refreshed = p
            .token(1, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(refreshed.status, 400, "{}: {}", p.name, refreshed.body);
        assert_eq!(refreshed.body["error"], "invalid_grant", "{}", p.name);

        let missing = p
            .send(
                0,
                p.http
                    .post(format!("{}/v1/oauth/revoke", p.gateway(0)))
                    .form(&[("token_type_hint", "refresh_token")]),
            )
            .await;
        assert_eq!(missing.status, 400, "{}", p.name);
        assert_eq!(missing.body["error"], "invalid_request", "{}", p.name);
    }
}
