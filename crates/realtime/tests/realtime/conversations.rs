//! Conversations on every configured database: gapless seqs under concurrency, resends, paging,
//! read markers, the outbox, who may see what, validation and the per-store rate.

use crate::support::*;
use mercato_proto::events::ReadMarked;
use mercato_realtime::events::{MESSAGE_POSTED, READ_MARKED};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;
use std::collections::HashSet;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: Realtime::on,
    cases: [
        fifty_concurrent_posters_get_the_seqs_one_to_fifty_without_gaps,
        a_resent_client_msg_id_returns_the_first_message_and_takes_no_seq,
        the_outbox_holds_exactly_one_message_posted_per_stored_message,
        paging_with_after_seq_reproduces_the_whole_history_in_order,
        read_markers_only_move_forward_and_announce_each_move_once,
        a_conversation_the_caller_may_not_see_answers_exactly_like_a_missing_one,
        only_signed_in_customers_open_conversations_and_unknown_roles_are_forbidden,
        invalid_messages_change_nothing_and_take_no_seq,
        customers_list_their_own_conversations_and_staff_all_newest_updated_first,
    ],
}

async fn fifty_concurrent_posters_get_the_seqs_one_to_fifty_without_gaps(rt: Realtime) {
    let store = StoreId::new();
    let customer = user();
    let conversation = rt.open(&store, &customer).await;
    let rt = std::sync::Arc::new(rt);
    let posts = (0..50).map(|i| {
        let (rt, conversation, customer) = (rt.clone(), conversation.id.clone(), customer.clone());
        tokio::spawn(async move {
            // Customer and staff interleave, each with their own client ids.
            let caller = if i % 2 == 0 {
                customer_caller(&customer)
            } else {
                staff_caller(&format!("staff-{}", i % 3))
            };
            rt.post(
                &store,
                &caller,
                &conversation,
                &format!("m-{i}"),
                &format!("hello {i}"),
            )
            .await
        })
    });
    let mut seqs = Vec::new();
    for post in futures::future::join_all(posts).await {
        let posted = post.unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert!(!posted.duplicate);
        seqs.push(posted.message.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    let page = rt
        .messages(&store, &customer_caller(&customer), &conversation.id, 0, 200)
        .await
        .unwrap();
    let stored: Vec<i64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(stored, (1..=50).collect::<Vec<_>>());
    assert_eq!((page.last_seq, page.has_more), (50, false));
    assert_eq!(rt.posted().await.len(), 50);
}

async fn a_resent_client_msg_id_returns_the_first_message_and_takes_no_seq(rt: Realtime) {
    let store = StoreId::new();
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();

    let first = rt.post(&store, &customer, id, "web:1", "hello").await.unwrap();
    let again = rt
        .post(&store, &customer, id, "web:1", "hello, edited")
        .await
        .unwrap();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(again.message, first.message, "the first message, untouched");

    let rt = std::sync::Arc::new(rt);
    let resends = (0..20).map(|_| {
        let (rt, customer, id) = (rt.clone(), customer.clone(), conversation.id.clone());
        tokio::spawn(async move { rt.post(&store, &customer, &id, "web:2", "once").await })
    });
    let results: Vec<_> = futures::future::join_all(resends)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    let ids: HashSet<_> = results
        .iter()
        .map(|r| r.message.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(ids.len(), 1, "every resend got the same message");
    assert_eq!(results[0].message.as_ref().unwrap().seq, 2);

    let staff = staff_caller(&user());
    let same_key_other_sender = rt
        .post(&store, &staff, id, "web:1", "hi from the shop")
        .await
        .unwrap();
    assert!(!same_key_other_sender.duplicate);
    assert_eq!(same_key_other_sender.message.unwrap().seq, 3);

    let next = rt.post(&store, &customer, id, "web:3", "thanks").await.unwrap();
    assert_eq!(next.message.unwrap().seq, 4, "resends left no gap");
    assert_eq!(rt.count("SELECT COUNT(*) FROM messages").await, 4);
}

async fn the_outbox_holds_exactly_one_message_posted_per_stored_message(rt: Realtime) {
    let store = StoreId::new();
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();
    for key in ["a", "b", "a", "c", "b"] {
        rt.post(&store, &customer, id, key, "body").await.unwrap();
    }
    let stored = rt.messages(&store, &customer, id, 0, 0).await.unwrap().messages;
    assert_eq!(stored.len(), 3);
    assert_eq!(rt.posted().await, stored);
    let events = rt.events(MESSAGE_POSTED).await;
    let event = mercato_proto::events::MessagePosted::decode(events[0].payload.as_slice()).unwrap();
    assert_eq!(event.customer_id, customer.user_id);
    assert_eq!(
        (events[0].store_id.as_str(), events[0].version),
        (store.to_string().as_str(), 1)
    );
    assert!(
        rt.events(READ_MARKED).await.is_empty(),
        "posting moves no marker visibly"
    );
}

async fn paging_with_after_seq_reproduces_the_whole_history_in_order(rt: Realtime) {
    let store = StoreId::new();
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();
    for i in 1..=25 {
        rt.post(&store, &customer, id, &format!("k{i}"), &format!("message {i}"))
            .await
            .unwrap();
    }
    let (mut history, mut after, mut pages) = (Vec::new(), 0, 0);
    loop {
        let page = rt.messages(&store, &customer, id, after, 7).await.unwrap();
        assert_eq!(page.last_seq, 25);
        pages += 1;
        after = page.messages.last().map_or(after, |m| m.seq);
        history.extend(page.messages.into_iter().map(|m| m.body));
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pages, 4);
    let expected: Vec<String> = (1..=25).map(|i| format!("message {i}")).collect();
    assert_eq!(history, expected);
    let past_the_end = rt.messages(&store, &customer, id, 25, 0).await.unwrap();
    assert!(past_the_end.messages.is_empty() && !past_the_end.has_more);
    assert_eq!(
        code(rt.messages(&store, &customer, id, -1, 0).await),
        ErrorCode::ValidationFailed
    );
}

async fn read_markers_only_move_forward_and_announce_each_move_once(rt: Realtime) {
    let store = StoreId::new();
    let customer = customer_caller(&user());
    let staff = staff_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();
    for key in ["1", "2", "3"] {
        rt.post(&store, &customer, id, key, "question").await.unwrap();
    }
    let own = rt.get(&store, &customer, id).await.unwrap();
    assert_eq!(
        (own.last_seq, own.read_seq),
        (3, 3),
        "a sender has read what they sent"
    );
    assert_eq!(rt.get(&store, &staff, id).await.unwrap().read_seq, 0);

    assert_eq!(rt.mark_read(&store, &staff, id, 2).await.unwrap().read_seq, 2);
    assert_eq!(
        rt.mark_read(&store, &staff, id, 1).await.unwrap().read_seq,
        2,
        "never back"
    );
    assert_eq!(rt.mark_read(&store, &staff, id, 2).await.unwrap().read_seq, 2);
    assert_eq!(rt.mark_read(&store, &staff, id, 0).await.unwrap().read_seq, 2);
    let beyond = rt.mark_read(&store, &staff, id, 4).await.unwrap_err();
    assert_eq!(beyond.code, ErrorCode::ValidationFailed);
    assert_eq!(beyond.fields[0].field, "seq");
    assert_eq!(
        code(rt.mark_read(&store, &staff, id, -1).await),
        ErrorCode::ValidationFailed
    );
    assert_eq!(rt.mark_read(&store, &staff, id, 3).await.unwrap().read_seq, 3);

    let moves: Vec<ReadMarked> = rt
        .events(READ_MARKED)
        .await
        .iter()
        .map(|e| ReadMarked::decode(e.payload.as_slice()).unwrap())
        .collect();
    let moves: Vec<_> = moves.iter().map(|m| (m.user_id.as_str(), m.seq)).collect();
    assert_eq!(moves, [(staff.user_id.as_str(), 2), (staff.user_id.as_str(), 3)]);
    assert_eq!(rt.get(&store, &staff, id).await.unwrap().read_seq, 3);
    assert_eq!(rt.get(&store, &customer, id).await.unwrap().read_seq, 3);
}

async fn a_conversation_the_caller_may_not_see_answers_exactly_like_a_missing_one(rt: Realtime) {
    let (store, other_store) = (StoreId::new(), StoreId::new());
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();
    rt.post(&store, &customer, id, "1", "my address is secret")
        .await
        .unwrap();
    let missing = rt.get(&store, &customer, &user()).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);

    let other_customer = customer_caller(&user());
    let other_store_staff = staff_caller(&user());
    for (who, store) in [(&other_customer, &store), (&other_store_staff, &other_store)] {
        assert_eq!(rt.get(store, who, id).await.unwrap_err(), missing);
        assert_eq!(rt.post(store, who, id, "x", "hi").await.unwrap_err(), missing);
        assert_eq!(rt.messages(store, who, id, 0, 0).await.unwrap_err(), missing);
        assert_eq!(rt.mark_read(store, who, id, 1).await.unwrap_err(), missing);
        assert!(rt.list(store, who, 0, 0).await.unwrap().is_empty());
    }
    let owner = caller(&user(), "owner");
    assert_eq!(rt.get(&store, &owner, id).await.unwrap().last_seq, 1);
    assert_eq!(rt.count("SELECT COUNT(*) FROM messages").await, 1);
}

async fn only_signed_in_customers_open_conversations_and_unknown_roles_are_forbidden(rt: Realtime) {
    let store = StoreId::new();
    let open = |caller: Option<mercato_proto::realtime::Caller>| {
        rt.client
            .open_conversation(mercato_proto::realtime::OpenConversationRequest {
                store_id: store.to_string(),
                caller,
                subject: "hi".into(),
            })
    };
    assert_eq!(code(open(Some(staff_caller("s1"))).await), ErrorCode::Forbidden);
    assert_eq!(
        code(open(Some(caller("o1", "owner"))).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(open(Some(caller("a1", "admin"))).await),
        ErrorCode::Forbidden
    );
    assert_eq!(code(open(None).await), ErrorCode::Unauthenticated);
    assert_eq!(
        code(open(Some(caller("", "customer"))).await),
        ErrorCode::Unauthenticated
    );
    let conversation = rt.open(&store, "c1").await;
    assert_eq!(
        code(rt.get(&store, &caller("c1", "superuser"), &conversation.id).await),
        ErrorCode::Forbidden
    );
    let long_subject = mercato_proto::realtime::OpenConversationRequest {
        store_id: store.to_string(),
        caller: Some(customer_caller("c1")),
        subject: "x".repeat(201),
    };
    assert_eq!(
        code(rt.client.open_conversation(long_subject).await),
        ErrorCode::ValidationFailed
    );
    assert_eq!(rt.count("SELECT COUNT(*) FROM conversations").await, 1);
}

async fn invalid_messages_change_nothing_and_take_no_seq(rt: Realtime) {
    let store = StoreId::new();
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    let id = conversation.id.as_str();
    let too_long = "x".repeat(4001);
    for (key, body, field) in [
        ("k1", "   ", "body"),
        ("k1", too_long.as_str(), "body"),
        ("", "hi", "client_msg_id"),
        ("bad key", "hi", "client_msg_id"),
    ] {
        let e = rt.post(&store, &customer, id, key, body).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(e.fields[0].field, field);
    }
    let unchanged = rt.get(&store, &customer, id).await.unwrap();
    assert_eq!(unchanged, conversation);
    assert!(rt.posted().await.is_empty());
    let first = rt.post(&store, &customer, id, "k1", "  hello  ").await.unwrap();
    let first = first.message.unwrap();
    assert_eq!((first.seq, first.body.as_str()), (1, "hello"));
}

mercato_runtime::backend_tests! {
    setup: with_three_messages_a_second_per_store,
    cases: [a_store_over_its_message_rate_is_told_to_slow_down],
}

/// A service that accepts three messages a second from a store.
async fn with_three_messages_a_second_per_store(backend: Backend) -> Realtime {
    let mut limits = limits();
    limits.store_messages_per_second = 3;
    Realtime::start(backend.database().await, limits).await
}

async fn a_store_over_its_message_rate_is_told_to_slow_down(rt: Realtime) {
    let (store, other_store) = (StoreId::new(), StoreId::new());
    let customer = customer_caller(&user());
    let conversation = rt.open(&store, &customer.user_id).await;
    // Seven posts span at most two one-second windows, so one of them sees a fourth.
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..7 {
        match rt
            .post(&store, &customer, &conversation.id, &format!("k{i}"), "hi")
            .await
        {
            Ok(_) => accepted += 1,
            Err(e) if e.code == ErrorCode::RateLimited => limited += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(limited > 0);
    let after = rt.get(&store, &customer, &conversation.id).await.unwrap();
    assert_eq!(after.last_seq, accepted, "a refused message takes no seq");
    let elsewhere = rt.open(&other_store, &customer.user_id).await;
    rt.post(&other_store, &customer, &elsewhere.id, "k", "hi")
        .await
        .unwrap_or_else(|e| panic!("another store has its own allowance: {e}"));
}

async fn customers_list_their_own_conversations_and_staff_all_newest_updated_first(rt: Realtime) {
    let store = StoreId::new();
    let (ann, bob) = (customer_caller(&user()), customer_caller(&user()));
    let staff = staff_caller(&user());
    let mut opened = Vec::new();
    for who in [&ann, &bob, &ann] {
        opened.push(rt.open(&store, &who.user_id).await.id);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // A message moves the oldest conversation to the top.
    rt.post(&store, &ann, &opened[0], "k", "still waiting")
        .await
        .unwrap();

    let ids =
        |list: Vec<mercato_proto::realtime::Conversation>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let all = rt.list(&store, &staff, 0, 0).await.unwrap();
    assert_eq!(all[0].read_seq, 0, "the staff member's own marker");
    assert_eq!(
        ids(all.clone()),
        [opened[0].as_str(), opened[2].as_str(), opened[1].as_str()]
    );
    assert_eq!(
        ids(rt.list(&store, &ann, 0, 0).await.unwrap()),
        [opened[0].as_str(), opened[2].as_str()]
    );
    assert_eq!(rt.list(&store, &ann, 0, 0).await.unwrap()[0].read_seq, 1);
    assert_eq!(
        ids(rt.list(&store, &bob, 0, 0).await.unwrap()),
        [opened[1].as_str()]
    );

    let first_page = rt.list(&store, &staff, 2, 0).await.unwrap();
    assert_eq!(first_page.len(), 2);
    let before = first_page[1].updated_at_ms;
    assert_eq!(
        ids(rt.list(&store, &staff, 2, before).await.unwrap()),
        [opened[1].as_str()]
    );
    assert_eq!(
        code(rt.list(&store, &staff, 0, -1).await),
        ErrorCode::ValidationFailed
    );
}
