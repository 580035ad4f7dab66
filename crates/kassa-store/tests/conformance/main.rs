//! The store story every backend must tell the same way. Each scenario is written once, as an
//! `async fn(&Backend)`, and runs as two tests, `<module>::sqlite::<scenario>` and
//! `<module>::postgres::<scenario>` (see `backend_tests!` in `support.rs`): a failure names its
//! backend, and one backend's failure hides nothing of the other's. Every assertion message
//! starts with the backend's name as well.
//!
//! Which scenario calls each `Store` method and asserts its answer:
//!
//! | method                      | scenarios                                                          |
//! |-----------------------------|--------------------------------------------------------------------|
//! | `insert_merchant`           | merchants::merchants_are_unique_by_username (and every fixture)    |
//! | `merchant_by_username`      | merchants::merchants_are_unique_by_username, …_are_replaced        |
//! | `merchant`                  | merchants::merchants_are_unique_by_username, …_are_replaced        |
//! | `merchant_count`            | merchants::merchants_are_unique_by_username                        |
//! | `set_merchant_webhooks`     | merchants::webhooks_and_the_retry_policy_are_replaced              |
//! | `merchants`,                | merchants::every_merchant_is_listed_and_secrets_are_replaced_…     |
//! | `replace_webhook_secrets`   |                                                                    |
//! | `session_state`             | sessions::sessions_are_found_by_kind_and_parent (`load` everywhere) |
//! | `child_session_states`      | sessions::sessions_are_found_by_kind_and_parent (`load_children`)  |
//! | `session_state_by_token`    | sessions::a_token_finds_its_session (`load_by_token`)              |
//! | `insert_consumer_session`   | consumer::a_short_code_finds_one_live_free_consumer_session,       |
//! |                             | consumer::concurrent_consumer_sessions_never_share_a_live_code     |
//! | `free_consumer_session`     | consumer::a_short_code_finds_one_live_free_consumer_session        |
//! | `consumer_session`          | consumer::a_short_code_finds_one_live_free_consumer_session        |
//! | `prune_consumer_sessions`   | consumer::an_expired_code_is_handed_out_again_and_expired_…_pruned |
//! | `insert_browser_session`,   | browser::browser_sessions_live_until_they_expire_or_are_ended      |
//! | `browser_session`,          |                                                                    |
//! | `touch_browser_session`,    |                                                                    |
//! | `delete_browser_session`,   |                                                                    |
//! | `delete_merchant_browser_…` |                                                                    |
//! | `prune_browser_sessions`    |                                                                    |
//! | `merchant_sessions`         | listing::merchant_sessions_page_through_ties_without_gaps          |
//! | `claim_jobs`                | jobs::jobs_are_claimed_once_while_leased_and_done_once,            |
//! |                             | outbox::a_released_claim_is_due_again, decoding::unknown_job_…     |
//! | `fail_job`                  | jobs::jobs_are_claimed_once_while_leased_and_done_once,            |
//! |                             | jobs::a_job_that_failed_too_often_is_set_aside_until_retried       |
//! | `merchant_jobs`,            | jobs::a_job_that_failed_too_often_is_set_aside_until_retried       |
//! | `merchant_job`, `retry_job` |                                                                    |
//! | `authorization`             | payments::one_order_per_payment_session_and_guarded_authorizations |
//! | `idempotency`,              | idempotency::a_key_is_recorded_once_for_24_hours                   |
//! | `prune_idempotency`         |                                                                    |
//! | `commit`                    | changes::* (guards, all or nothing, group commit), and the         |
//! |                             | writes of jobs, consumer sessions, payments, deliveries, events,   |
//! |                             | orders (payments::order_amounts_are_guarded_in_sql)                |
//! | `session_events`            | changes::*, events::events_are_found_by_id_and_by_session          |
//! | `session_events_after`      | events::events_are_found_by_id_and_by_session                      |
//! | `merchant_message`,         | messages::only_a_failed_message_of_the_merchant_is_retried         |
//! | `retry_message`             |                                                                    |
//! | `session_messages`          | messages::messages_commit_with_their_change_and_are_listed_…       |
//! |                             | (and every messages:: scenario)                                    |
//! | `claim_messages`,           | messages::a_message_is_claimed_once_while_leased_and_its_stale_…,  |
//! | `finish_message`            | messages::a_failed_send_is_due_again_later_or_fails_for_good,      |
//! |                             | messages::a_message_is_due_on_its_merchants_clock                  |
//! |                             | messages::claims_at_once_on_two_handles_never_take_the_same_…      |
//! | `claim_deliveries`          | outbox::deliveries_are_claimed_when_due_one_event_after_the_other, |
//! |                             | outbox::a_lost_lease_is_taken_over_and_the_stale_holder_is_refused |
//! | `finish_attempt`            | outbox::deliveries_are_claimed_when_due_one_event_after_the_other, |
//! |                             | outbox::a_lost_lease_is_taken_over_and_the_stale_holder_is_refused |
//! | `renew_leases`              | recovery::the_leases_of_claims_in_flight_are_renewed_together,     |
//! |                             | outbox::a_lost_lease_is_taken_over_and_the_stale_holder_is_refused |
//! | `claim_probe`,              | recovery::a_failing_target_is_probed_ahead_of_schedule_and_made_…  |
//! | `make_target_due`,          | (a failed probe: `DeliveryNext::Unchanged`)                        |
//! | `failing_targets`           |                                                                    |
//! | `release_claim`             | outbox::a_released_claim_is_due_again                              |
//! | `session_deliveries`        | outbox::the_ledger_lists_every_delivery_with_its_attempts,         |
//! |                             | outbox::a_lost_lease_is_taken_over_and_the_stale_holder_is_refused |
//! | `event_deliveries`          | outbox::the_ledger_lists_every_delivery_with_its_attempts          |
//! | `event`                     | events::events_are_found_by_id_and_by_session, decoding::*         |
//! | `merchant_events`           | events::the_feed_pages_by_position_session_and_delivery, the_feed_… |
//! |                             | events::an_event_that_commits_behind_a_running_transaction_…,      |
//! |                             | events::a_feed_read_while_changes_commit_side_by_side_misses_nothing |
//! |                             | (`after` cursor, `limit`, `session_id`, `undelivered`)             |
//! | `notifications`             | notifications::a_commit_notifies_the_other_handles                 |
//! | `ping`                      | merchants::a_live_database_answers (a read and the probe's write)  |
//! | `backlog`                   | stats::the_backlog_counts_pending_and_due_callbacks_by_policy_…    |
//! | `pools`, `observe_commits`  | stats::the_pools_and_every_commit_batch_are_reported               |
//!
//! Beyond the trait: `SqlStore::release_all_claims` (outbox::a_released_claim_is_due_again,
//! messages::a_message_is_claimed_once_while_leased_and_its_stale_holder_is_refused),
//! another handle on the same database (changes::another_handle_sees_every_commit), a reopened
//! SQLite file (changes::sqlite_a_reopened_database_keeps_every_commit), strict decoding of
//! stored values (decoding), and the two migrations building one schema
//! (schema::both_backends_migrate_to_the_same_schema), the SQL guards of the messages' status
//! rules (messages::the_status_rules_hold_in_sql), a database of an earlier kassa upgraded with
//! nothing lost (upgrade), and which migrations a database has, read without applying any
//! (migrations).

#[macro_use]
mod support;

mod browser;
mod changes;
mod consumer;
mod decoding;
mod events;
mod idempotency;
mod jobs;
mod listing;
mod merchants;
mod messages;
mod migrations;
mod notifications;
mod outbox;
mod payments;
mod recovery;
mod sandbox;
mod schema;
mod sessions;
mod stats;
mod upgrade;
